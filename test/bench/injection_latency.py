"""In-process cost of the injection classifier and of a full MiniLM embedding for a 256-token prompt: wall time and
this thread's CPU time (the CPU figure holds on a shared, loaded machine; wall time does not). Prints one JSON line.
Run by test/bench/injection.ts."""
import contextlib
import io
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "sidecars", "minilm"))

with contextlib.redirect_stdout(io.StringIO()):
    from injection import InjectionClassifier
    from minilm import MiniLM

    model = MiniLM()
classifier = InjectionClassifier(model, os.path.join(ROOT, "sidecars", "minilm", "injection-head.json"))
base = "Please summarise the following meeting notes for the team and list every action item with its owner. " * 40
prompt = model.tokenizer.decode(model.ids(base)[1:257])
tokens = len(model.ids(prompt)) - 2


def measure(fn, n):
    for _ in range(10):
        fn()
    wall, cpu = [], []
    for _ in range(n):
        w, c = time.perf_counter(), time.thread_time()
        fn()
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
    q = lambda xs, p: round(sorted(xs)[min(len(xs) - 1, int(p * len(xs)))], 3)
    return {"calls": n, "wall_p50_ms": q(wall, 0.5), "wall_p99_ms": q(wall, 0.99), "cpu_p50_ms": q(cpu, 0.5), "cpu_p99_ms": q(cpu, 0.99)}


print(json.dumps({
    "prompt": prompt,
    "prompt_tokens": tokens,
    "injection_score": measure(lambda: classifier.score(prompt), 200),
    "full_minilm_embedding": measure(lambda: model.embed(prompt), 20),
}))
