"""What does "Why this next token?" cost? core/explain against the trace every keystroke already pays.

(a) The default model (resources/models/default) on a story prompt: logit lens (top 10 at every layer
    and position) plus direct attribution of the top token, both from the trace already made, against
    model.trace itself. Interleaved rounds; per call median and p95 in ms, and the median of the
    per-round ratios (the machine is shared and noisy).
(b) A full head-patching sweep on a GPT-2-small-shaped model (random weights: 12 layers, 12 heads,
    d_model 768, vocab 50,257) at 16 tokens: 144 patched runs in batches, with the estimate the app
    shows before it starts; target <= 15 s. The baseline is the same sweep with every run starting
    at layer 0 and computing every logit (what a naive loop over model(ids) with one patch would do,
    batched the same way).

    .venv/bin/python benchmarks/bench_explain.py [--rounds 30] [--threads 1] [--batch 16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from core import GPT, GPTConfig
from core.explain.attribution import direct_attribution
from core.explain.logit_lens import logit_lens
from core.explain.patching import _listeners, estimate_sweep, pair_from_traces, sweep_heads, sweep_places
from core.files.checkpoint import load_checkpoint
from core.files.shipped_models import DEFAULT_MODEL_FOLDER
from core.model.eval_mode import evaluating
from core.model.trace import tracing_lock

STORY = (
    'Theo had a dog called Zubak. Theo said the magic words: "Grass doll shell dog tall map." '
    'Emma said them back: "Grass doll shell dog tall map." Then Theo and Emma went to the park with'
)


def _ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return 1000 * (time.perf_counter() - start)


def _p95(values) -> float:
    return float(np.percentile(values, 95))


def bench_default_model(rounds: int) -> None:
    checkpoint = load_checkpoint(DEFAULT_MODEL_FOLDER)
    model, ids = checkpoint.model, checkpoint.tokenizer.encode(STORY)
    trace = model.trace(ids)
    timings = {"trace": [], "logit lens": [], "attribution": [], "lens + attribution": []}
    ratios = []
    for _ in range(rounds):
        base = _ms(lambda: model.trace(ids))
        lens = _ms(lambda: logit_lens(model, trace))
        attribution = _ms(lambda: direct_attribution(model, trace))
        both = _ms(lambda: (logit_lens(model, trace), direct_attribution(model, trace)))
        for name, value in zip(timings, (base, lens, attribution, both)):
            timings[name].append(value)
        ratios.append(both / base)
    print(f"(a) default model, T={len(ids)} tokens, {rounds} rounds")
    for name, values in timings.items():
        print(f"    {name:<20} median {statistics.median(values):6.2f} ms   p95 {_p95(values):6.2f} ms")
    print(f"    (lens + attribution) / trace: median ratio {statistics.median(ratios):.2f}")


def _naive_sweep(model, pair, batch_size: int) -> float:
    """Every patched run from layer 0 through the whole model, every logit computed; seconds."""
    places = sweep_places(model, pair, "heads")
    ids = pair.corrupted.ids
    start = time.perf_counter()
    hooks = model.hook_points()
    for first in range(0, len(places), batch_size):
        batch = [[place] for place in places[first : first + batch_size]]
        attached = [(hooks[name], listener) for name, listener in _listeners(pair, batch).items()]
        with tracing_lock(model), torch.inference_mode(), evaluating(model):
            for hook, listener in attached:
                hook.listeners.append(listener)
            try:
                model(ids.expand(len(batch), -1))
            finally:
                for hook, listener in attached:
                    hook.listeners.remove(listener)
    return time.perf_counter() - start


def bench_gpt2_sweep(batch_size: int) -> None:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=50257, context_length=1024, d_model=768, n_layers=12, n_heads=12)
    model = GPT(config).eval()
    clean = torch.randint(0, config.vocab_size, (1, 16))  # (1, T)
    corrupted = clean.clone()
    corrupted[0, 5] = (corrupted[0, 5] + 1) % config.vocab_size
    began = time.perf_counter()
    pair = pair_from_traces(model.trace(clean), model.trace(corrupted), answer=11, wrong=12)
    traces = time.perf_counter() - began
    began = time.perf_counter()
    estimate = estimate_sweep(model, 16, "heads", batch_size)
    estimating = time.perf_counter() - began
    result = sweep_heads(model, pair, batch_size=batch_size)
    naive = _naive_sweep(model, pair, batch_size)
    print(f"(b) GPT-2-small-shaped, 16 tokens, 144 heads, batch {batch_size}")
    print(f"    two traces           {traces:6.2f} s")
    print(
        f"    estimate shown first {estimate.seconds:6.2f} s  ({estimate.batches} batches x "
        f"{estimate.seconds_per_batch:.2f} s; estimating took {estimating:.2f} s)"
    )
    print(f"    sweep                {result.seconds:6.2f} s  (target <= 15 s)  done {result.done}/{result.total}")
    print(
        f"    naive sweep          {naive:6.2f} s  (from layer 0, every logit): ratio sweep / naive "
        f"{result.seconds / naive:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bench_default_model(args.rounds)
    bench_gpt2_sweep(args.batch)


if __name__ == "__main__":
    main()
