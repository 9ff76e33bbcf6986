"""The prompt-injection classifier: a logistic-regression head (weights in injection-head.json, trained by
scripts/train-injection-head on the tuning half of test/bench/data/injection-labelled.jsonl) over
  - the MiniLM model's static token embedding of the text (minilm.py: `static`), and optionally its full sentence
    embedding (`embed`, ~100 ms for 256 tokens, so off by default: see the head's `features`);
  - hashed word unigrams and bigrams (optional), or Naive-Bayes log-count ratios of word unigrams and bigrams;
  - rule features: phrases of instruction override, prompt extraction, role-play, safety switches, hidden
    instructions aimed at an assistant, in English and Vietnamese, matched in the text and in what it decodes to
    (ROT13, reversed text, hex and base64 runs, joined string fragments), so an encoded attack shows its words.
One function, `features`, serves training and serving alike: the gateway's score is exactly the trained model's.
"""
import base64
import binascii
import codecs
import hashlib
import json
import math
import os
import re
import unicodedata

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: see minilm.py

import numpy as np  # noqa: E402

HASH_BUCKETS = 2048
# The rule features cost ~5-15 µs per character; a longer text is read as its first and last halves of this many
# characters, so one score stays within a guardrail timeout (~25-100 ms at most here). The middle of a longer
# document is not read.
MAX_SCORED_CHARS = 6000

RULES = [
    ("override", r"\b(ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|any|your|the)\b[^.\n]{0,30}\b(instructions?|rules?|guidelines?|directives?|prompts?|polic(y|ies)|constraints?|restrictions?)"),
    ("override_vi", r"(bỏ qua|phớt lờ|quên|lờ đi|bất chấp|vô hiệu)[^.\n]{0,40}(hướng dẫn|chỉ dẫn|quy tắc|chỉ thị|lệnh|luật|giới hạn|nguyên tắc)"),
    ("extract", r"\b(system prompt|system message|initial (prompt|instructions)|hidden (instructions|setup|prompt|text)|(your|the) (instructions|configuration|setup)( you were given)?|everything (that appears )?above|confidential config)"),
    ("extract_verb", r"\b(print|reveal|show|repeat|output|display|dump|leak|tell me|share|disclose|list)\b[^.\n]{0,50}\b(system prompt|instructions|prompt|configuration|api keys?|secrets?|credentials?|passwords?|above)"),
    ("extract_vi", r"(lời nhắc hệ thống|chỉ dẫn (ban đầu|hệ thống|gốc)|hướng dẫn (ban đầu|hệ thống|gốc)|in nguyên văn|tiết lộ|khóa api|mật khẩu|system prompt)"),
    ("mode", r"\b(developer mode|dev mode|god mode|jailbreak|jailbroken|dan\b|do anything now|unfiltered|uncensored|unrestricted|no (content )?polic(y|ies)|no restrictions|no (ethical|moral) (guidelines|limits)|without (any )?(restrictions|filters|limits|refus))"),
    ("mode_vi", r"(chế độ (nhà phát triển|developer|không giới hạn)|không có (bất kỳ )?(giới hạn|bộ lọc|ràng buộc|quy tắc)|không từ chối|tắt bộ lọc|không kiểm duyệt)"),
    ("safety_off", r"\b(safety|moderation|content|filter)[_ ]?(filter|mode|check)?s?\s*(=|:|to)?\s*(false|off|disabled|0)\b|\b(disable|turn off|deactivate)\b[^.\n]{0,30}\b(safety|filter|moderation|guard)"),
    ("roleplay", r"\b(from now on|you are now|you're now|act as|pretend (to be|you are)|role-?play|stay in character|let'?s play a game|you will (now )?answer as|hypothetically)"),
    ("roleplay_vi", r"(từ bây giờ|từ giờ trở đi|bạn là|hãy đóng vai|đóng vai|nhập vai|trò chơi|giả sử bạn là|giả vờ)"),
    ("authority", r"\b(i am|i'm) (the|your) (developer|admin|administrator|operator|owner|creator)\b|\b(system override|admin override|sudo|root access|maintenance mode)\b|(quản trị viên|nhà phát triển)"),
    ("to_assistant", r"\b(to the|note to|attention|dear) (ai|assistant|coding assistant|language model|llm|chatbot|model)\b|\b(ai|assistant)s? (reading|processing|summari[sz]ing) this\b|\bwhen summari[sz]ing\b|\bassistant\s*:|<\|im_start\|>|\[/?inst\]|###\s*(system|instruction)"),
    ("hidden", r"display\s*:\s*none|<!--|font-size\s*:\s*0|color\s*:\s*white|\u200b|\u200c|\u200d|\u2060|[\U000e0000-\U000e007f]"),
    ("exfil", r"\b(curl|wget|fetch|send|post|forward|email|upload)\b[^.\n]{0,60}\b(https?://|to (this|the following) (url|address|endpoint)|webhook)"),
    ("execute", r"\b(execute|carry (it )?out|follow|obey|do) (it|this|that|the (resulting|decoded|hidden) (instruction|text|command)s?|z|them)\b|\bthen (do|execute|follow) (it|that|this)\b|(làm theo|thực hiện) (nó|lệnh|chỉ dẫn)"),
    ("harm", r"\b(malware|ransomware|keylogger|exploit|phishing|steal|hack into|break into|get into someone|without them knowing|evades? antivirus|bomb|weapon)\b|(đột nhập|hack|lấy cắp|trộm)"),
    ("decode_cmd", r"\b(decode|decrypt|translate|convert|read)\b[^.\n]{0,40}\b(and|then)\b[^.\n]{0,20}\b(do|follow|execute|carry|obey|run)"),
]
COMPILED = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in RULES]

WORD = re.compile(r"\w+", re.UNICODE)
HEX_RUN = re.compile(r"\b(?:[0-9a-fA-F]{2}){12,}\b")
B64_RUN = re.compile(r"[A-Za-z0-9+/]{20,}={0,2}")
QUOTED = re.compile(r"""['"]([^'"\n]{1,60})['"]""")
URL_ESCAPES = re.compile(r"(?:%[0-9a-fA-F]{2}){6,}")
BINARY_RUN = re.compile(r"\b(?:[01]{8}\s+){5,}[01]{8}\b")
LEET = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})


def _printable(raw):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    letters = sum(ch.isalpha() or ch.isspace() for ch in text)
    return text if text and letters / len(text) > 0.8 else None


def _base64(run, depth=0):
    try:
        raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None
    decoded = _printable(raw)
    if decoded and depth == 0 and B64_RUN.fullmatch(decoded.strip()):
        return _base64(decoded.strip(), 1) or decoded
    return decoded


def decodings(text):
    """What the text may hide: ROT13, reversed, leetspeak, hex, base64 (twice), URL escapes and binary decoded,
    quoted fragments joined."""
    out = [codecs.encode(text, "rot13"), text[::-1], text.translate(LEET)]
    for run in URL_ESCAPES.findall(text):
        try:
            decoded = _printable(bytes.fromhex(run.replace("%", "")))
        except ValueError:
            decoded = None
        if decoded:
            out.append(decoded)
    for run in BINARY_RUN.findall(text):
        decoded = _printable(bytes(int(bits, 2) for bits in run.split()))
        if decoded:
            out.append(decoded)
    for run in HEX_RUN.findall(text):
        try:
            decoded = _printable(binascii.unhexlify(run))
        except (binascii.Error, ValueError):
            decoded = None
        if decoded:
            out.append(decoded)
    for run in B64_RUN.findall(text):
        decoded = _base64(run)
        if decoded:
            out.append(decoded)
    fragments = QUOTED.findall(text)
    if len(fragments) >= 3:
        out.append("".join(fragments))
    return out


def rule_features(text):
    """Per rule: hits in the text (capped, 0..1); hits only in a decoding; plus a few shape features."""
    plain = unicodedata.normalize("NFKC", text)
    hidden = decodings(plain)
    values = []
    for _, pattern in COMPILED:
        direct = len(pattern.findall(plain))
        decoded = max((len(pattern.findall(h)) for h in hidden), default=0)
        values.append(min(direct, 3) / 3)
        values.append(1.0 if decoded > direct else 0.0)
    total_direct = sum(values[0::2])
    values.append(min(total_direct, 3) / 3)
    values.append(1.0 if any(values[1::2]) else 0.0)
    values.append(min(len(plain), 4000) / 4000)
    return np.array(values, dtype=np.float32), hidden


def hashed_words(texts):
    vector = np.zeros(HASH_BUCKETS, dtype=np.float32)
    for text in texts:
        words = [w.lower() for w in WORD.findall(text)]
        for gram in words + [a + " " + b for a, b in zip(words, words[1:])]:
            bucket = int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=4).digest(), "little") % HASH_BUCKETS
            vector[bucket] = 1.0
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def word_grams(text, hidden):
    """Lower-cased word unigrams and bigrams of the text and of what it decodes to (not ROT13/reversed/leet noise)."""
    out = set()
    for part in [text] + hidden[3:]:
        words = [w.lower() for w in WORD.findall(part)]
        out.update(words)
        out.update(a + " " + b for a, b in zip(words, words[1:]))
    return out


def nb_table(gram_sets, labels, alpha=1.0, min_ratio=0.5, min_count=2):
    """Naive-Bayes log-count ratios of word grams (attack vs benign), the grams seen at least `min_count` times with
    |ratio| above `min_ratio`: a sparse lexical signal learned from the training prompts only."""
    pos, neg = {}, {}
    for grams, label in zip(gram_sets, labels):
        counts = pos if label else neg
        for gram in grams:
            counts[gram] = counts.get(gram, 0) + 1
    n_pos = sum(1 for label in labels if label)
    n_neg = len(labels) - n_pos
    table = {}
    for gram in set(pos) | set(neg):
        if pos.get(gram, 0) + neg.get(gram, 0) < min_count:
            continue
        ratio = math.log(((pos.get(gram, 0) + alpha) / (n_pos + 2 * alpha)) / ((neg.get(gram, 0) + alpha) / (n_neg + 2 * alpha)))
        if abs(ratio) > min_ratio:
            table[gram] = round(ratio, 4)
    return table


def nb_features(grams, table):
    hits = [table[g] for g in grams if g in table]
    total = sum(hits)
    return np.array([total / max(1.0, math.sqrt(len(grams))), total / max(1, len(hits))], dtype=np.float32)


def features(model, text, kinds, nb=None):
    """The head's input for one text; `kinds` lists the feature groups the head was trained with, `nb` its
    Naive-Bayes gram table (for the `nb` group)."""
    rules, hidden = rule_features(text)
    parts = []
    for kind in kinds:
        if kind == "rules":
            parts.append(rules)
        elif kind == "static":
            ids = model.ids(text)
            for h in hidden[3:]:  # decoded runs and fragments carry words; ROT13, reversed and leet variants are noise
                ids = ids + model.ids(h)
            parts.append(model.static(ids).astype(np.float32))
        elif kind == "hash":
            parts.append(hashed_words([text] + hidden[3:]))
        elif kind == "nb":
            parts.append(nb_features(word_grams(text, hidden), nb or {}))
        elif kind == "contextual":
            parts.append(model.embed(text)[0].astype(np.float32))
        else:
            raise ValueError(f"unknown feature kind {kind}")
    return np.concatenate(parts)


class InjectionClassifier:
    def __init__(self, model, head_path):
        with open(head_path, encoding="utf-8") as f:
            head = json.load(f)
        self.model = model
        self.kinds = head["features"]
        self.weights = np.array(head["weights"], dtype=np.float32)
        self.bias = float(head["bias"])
        self.threshold = float(head["threshold"])
        self.version = head.get("version", "unknown")
        self.nb = head.get("nb")

    def score(self, text):
        if len(text) > MAX_SCORED_CHARS:
            half = MAX_SCORED_CHARS // 2
            text = text[:half] + "\n" + text[-half:]
        z = float(features(self.model, text, self.kinds, self.nb) @ self.weights) + self.bias
        return 1.0 / (1.0 + math.exp(-z))
