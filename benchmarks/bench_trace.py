"""How much does reading the internals cost?

(a) A full `model.trace(ids)` (every name recorded, explicit attention) against the plain forward pass
    (no listeners, so the fast attention path), micro preset, T=64. Target: ratio <= 1.25.
(b) Explicit attention against torch's fused `scaled_dot_product_attention`, forward + backward,
    same config, in training mode.

Timings are interleaved (baseline, candidate, baseline, ...) and the median of per-round ratios is
reported, because this machine is shared and noisy. Each call is timed twice: wall clock, and the CPU
time of this thread (torch runs on one thread here), which other processes on the machine disturb less.

    .venv/bin/python benchmarks/bench_trace.py [--rounds 200] [--threads 1]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from core import GPT, preset


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def _seconds(fn, repeats: int) -> dict[str, float]:
    """Mean seconds per call on each clock."""
    start = {name: clock() for name, clock in CLOCKS.items()}
    for _ in range(repeats):
        fn()
    return {name: (clock() - start[name]) / repeats for name, clock in CLOCKS.items()}


def _interleaved_ratio(baseline, candidate, rounds: int, repeats: int) -> dict[str, tuple[float, float, float]]:
    """Per clock: (median baseline s, median candidate s, median of per-round candidate/baseline)."""
    for _ in range(5):  # warm up allocator and kernels
        baseline(), candidate()
    samples = {name: ([], [], []) for name in CLOCKS}
    for _ in range(rounds):
        b, c = _seconds(baseline, repeats), _seconds(candidate, repeats)
        for name, (base_times, cand_times, ratios) in samples.items():
            base_times.append(b[name])
            cand_times.append(c[name])
            ratios.append(c[name] / b[name])
    return {name: tuple(statistics.median(values) for values in lists) for name, lists in samples.items()}


def bench_trace_overhead(model: GPT, ids: torch.Tensor, rounds: int, repeats: int):
    model.eval()

    @torch.no_grad()
    def plain_forward():
        model(ids)

    def full_trace():
        model.trace(ids)

    return _interleaved_ratio(plain_forward, full_trace, rounds, repeats)


def bench_trace_breakdown(model: GPT, ids: torch.Tensor, rounds: int, repeats: int):
    """Where the overhead goes: the explicit attention alone, and a trace without `probs`."""
    model.eval()

    @torch.no_grad()
    def plain_forward():
        model(ids)

    @torch.no_grad()
    def explicit_forward():
        model.set_fast_attention(False)
        model(ids)
        model.set_fast_attention(True)

    def trace_without_probs():
        model.trace(ids, names=lambda name: name != "probs")

    return (_interleaved_ratio(plain_forward, explicit_forward, rounds, repeats)["cpu"][2],
            _interleaved_ratio(plain_forward, trace_without_probs, rounds, repeats)["cpu"][2])


def bench_attention_paths(model: GPT, ids: torch.Tensor, targets: torch.Tensor, rounds: int, repeats: int):
    model.train()

    def step(fast: bool):
        def run():
            model.set_fast_attention(fast)
            model.zero_grad(set_to_none=True)
            _, loss = model(ids, targets)
            loss.backward()
        return run

    result = _interleaved_ratio(step(True), step(False), rounds, repeats)
    model.set_fast_attention(True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 keeps timings steadier)")
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8, help="batch size for the forward+backward comparison")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    config = preset("micro", vocab_size=args.vocab, context_length=args.tokens)
    model = GPT(config)
    ids = torch.randint(0, args.vocab, (1, args.tokens))
    print(f"micro preset ({config.n_layers} layers, {config.n_heads} heads, d_model {config.d_model}), "
          f"vocab {args.vocab}, T={args.tokens}, torch {torch.__version__}, {args.threads} thread(s), "
          f"{platform.processor() or platform.machine()}")

    for clock, (plain, traced, ratio) in bench_trace_overhead(model, ids, args.rounds, repeats=1).items():
        print(f"(a) {clock:>4}: plain forward {plain * 1e3:6.2f} ms, full trace {traced * 1e3:6.2f} ms, "
              f"median ratio trace/forward = {ratio:.2f} (target <= 1.25)")

    explicit_ratio, no_probs_ratio = bench_trace_breakdown(model, ids, args.rounds, repeats=1)
    print(f"    cpu breakdown: explicit-attention forward / plain = {explicit_ratio:.2f}, "
          f"trace without probs / plain = {no_probs_ratio:.2f}")

    batch = torch.randint(0, args.vocab, (args.batch, args.tokens + 1))
    rounds = max(10, args.rounds // 10)  # a training step is ~20x a single forward
    for clock, (fast, explicit, ratio) in bench_attention_paths(model, batch[:, :-1], batch[:, 1:], rounds, 1).items():
        print(f"(b) {clock:>4}: forward+backward, batch {args.batch}: fast path {fast * 1e3:6.2f} ms, "
              f"explicit {explicit * 1e3:6.2f} ms, median ratio explicit/fast = {ratio:.2f}")


if __name__ == "__main__":
    main()
