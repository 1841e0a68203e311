"""What do the lessons cost? Live numbers for one snapshot, and a hand-out's gradient step, against a trace.

(a) core.teaching.lesson_numbers.live_numbers for one trace, against model.trace itself (the work every
    keystroke already pays), at T=64, for the micro preset and a GPT-2-small-sized model.
(b) gradient_step (one forward + backward + forward on the prompt, the training lesson's live numbers)
    against model.trace, micro preset.

Interleaved rounds, median of per-round ratios (the machine is shared and noisy).

    .venv/bin/python benchmarks/bench_lessons.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from core import GPT, GPTConfig, preset
from core.teaching.lesson_numbers import LessonContext, gradient_step, live_numbers

T = 64


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _median_ratio(baseline, candidate, rounds: int) -> tuple[float, float]:
    ratios, base_times = [], []
    for _ in range(rounds):
        base = _seconds(baseline)
        ratios.append(_seconds(candidate) / base)
        base_times.append(base)
    return statistics.median(ratios), statistics.median(base_times)


def _context(model: GPT, ids: torch.Tensor) -> LessonContext:
    trace = model.trace(ids)
    labels = tuple(str(i) for i in range(model.config.vocab_size))
    return LessonContext(
        trace=trace,
        token_labels=tuple(labels[i] for i in ids.tolist()),
        vocab_labels=labels,
        config=model.config,
        layer=model.config.n_layers - 1,
        head=0,
        prompt="x" * T,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)  # the machine is shared: one thread gives steadier timings
    torch.manual_seed(0)
    models = {
        "micro": GPT(preset("micro", vocab_size=256)).eval(),
        "GPT-2-small-sized": GPT(
            GPTConfig(vocab_size=50257, context_length=1024, d_model=768, n_layers=12, n_heads=12)
        ).eval(),
    }
    for name, model in models.items():
        ids = torch.randint(0, model.config.vocab_size, (T,))
        context = _context(model, ids)
        ratio, base = _median_ratio(lambda: model.trace(ids), lambda: live_numbers(context), args.rounds)
        print(f"(a) {name}: live_numbers / trace = {ratio:.3f}  (trace {1000 * base:.1f} ms)")
    micro = models["micro"]
    ids = torch.randint(0, 256, (T,))
    ratio, base = _median_ratio(lambda: micro.trace(ids), lambda: gradient_step(micro, ids), args.rounds)
    print(f"(b) micro: gradient_step / trace = {ratio:.2f}  (trace {1000 * base:.1f} ms)")


if __name__ == "__main__":
    main()
