"""How much does reading the internals cost?

(a) A full `model.trace(ids)` (every name recorded, explicit attention, `probs`) against the plain
    forward pass a user calls for logits: `model(ids)` in eval mode under `torch.no_grad()` (no
    listeners, so the fast attention path; all T positions, final LayerNorm included). Micro preset as
    defined (its vocabulary is 256 tokens), T=64. Target: ratio <= 1.25. Also at vocab 4096 (the size
    of issue 2's trained BPE vocabulary; earlier figures used it), and against the same plain forward
    under `torch.inference_mode()` (which the trace uses), so the share of that switch is visible.
(b) Explicit attention against torch's fused `scaled_dot_product_attention`, forward + backward,
    same config, in training mode.

(d) --hook-calls: the cost of calling each hook point as a normal nn.Module (so PyTorch's own forward
    hooks work on it), against calling its `forward` directly as the model once did (`__call__ = forward`,
    set here on the class for the baseline only), for a full trace and for the plain forward.

(c) --incremental: the incremental trace (core/model/kv_cache.py) of a prompt one token longer than the
    previous trace, against a full trace of the same prompt, on a GPT-2-small-shaped random model
    (12 layers, 12 heads, d_model 768, vocab 50257) at 64 and 512 tokens; the trace alone, and the
    trace plus reading every layer's attention pattern (what the attention grid reads, which joins
    those values). Only (c) runs with this flag.

Timings are interleaved (baseline, candidate, baseline, ...) and the median of per-round ratios is
reported, because this machine is shared and noisy. Each call is timed twice: wall clock, and the CPU
time of this thread (torch runs on one thread here), which other processes on the machine disturb less.

    .venv/bin/python benchmarks/bench_trace.py [--rounds 300] [--threads 1] [--extra-vocab 4096]
    .venv/bin/python benchmarks/bench_trace.py --incremental [--rounds 15]
    .venv/bin/python benchmarks/bench_trace.py --hook-calls [--rounds 300]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from core import GPT, preset
from core.model.hooks import HookPoint


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


def bench_trace_breakdown(model: GPT, ids: torch.Tensor, rounds: int, repeats: int) -> dict[str, float]:
    """Where the overhead goes, step by step from the plain forward to the full trace (cpu ratios)."""
    model.eval()

    @torch.no_grad()
    def plain_forward():
        model(ids)

    @torch.inference_mode()
    def plain_inference_mode():
        model(ids)

    @torch.inference_mode()
    def explicit_inference_mode():
        model.set_fast_attention(False)
        model(ids)
        model.set_fast_attention(True)

    def trace_without_probs():
        model.trace(ids, names=lambda name: name != "probs")

    steps = {
        "same forward under inference_mode": plain_inference_mode,
        "+ explicit attention": explicit_inference_mode,
        "+ every activation kept (trace without probs)": trace_without_probs,
    }
    return {
        step: _interleaved_ratio(plain_forward, candidate, rounds, repeats)["cpu"][2]
        for step, candidate in steps.items()
    }


def bench_against_inference_mode(model: GPT, ids: torch.Tensor, rounds: int, repeats: int):
    """The full trace against a plain forward that also runs under inference_mode."""
    model.eval()

    @torch.inference_mode()
    def plain_inference_mode():
        model(ids)

    def full_trace():
        model.trace(ids)

    return _interleaved_ratio(plain_inference_mode, full_trace, rounds, repeats)


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


def _report_overhead(config, tokens: int, rounds: int, label: str) -> None:
    torch.manual_seed(0)
    model = GPT(config)
    ids = torch.randint(0, config.vocab_size, (1, tokens))
    for clock, (plain, traced, ratio) in bench_trace_overhead(model, ids, rounds, repeats=1).items():
        print(
            f"{label} {clock:>4}: plain forward {plain * 1e3:6.2f} ms, full trace {traced * 1e3:6.2f} ms, "
            f"median ratio trace/forward = {ratio:.2f} (target <= 1.25)"
        )
    for step, ratio in bench_trace_breakdown(model, ids, rounds, repeats=1).items():
        print(f"    cpu breakdown, / plain forward: {step:<46} {ratio:.2f}")
    plain, traced, ratio = bench_against_inference_mode(model, ids, rounds, repeats=1)["cpu"]
    print(f"    cpu, against a plain forward under inference_mode ({plain * 1e3:.2f} ms): {ratio:.2f}")


def bench_incremental(rounds: int) -> None:
    from core import GPTConfig

    torch.manual_seed(0)
    config = GPTConfig(vocab_size=50257, context_length=1024, d_model=768, n_layers=12, n_heads=12)
    model = GPT(config).eval()
    for tokens in (64, 512):
        ids = torch.randint(0, config.vocab_size, (1, tokens))
        previous = model.trace(ids[:, :-1])

        def full_trace():
            model.trace(ids)

        def incremental_trace():
            model.trace(ids, previous=previous)

        def incremental_and_patterns_read():
            trace = model.trace(ids, previous=previous)
            for layer in range(config.n_layers):
                trace[f"blocks.{layer}.attn.pattern"]

        for label, candidate in (
            ("incremental trace", incremental_trace),
            ("+ every layer's pattern read", incremental_and_patterns_read),
        ):
            full, incremental, ratio = _interleaved_ratio(full_trace, candidate, rounds, repeats=1)["wall"]
            print(
                f"(c) GPT-2-small-shaped, {tokens} tokens, one appended: full trace {full * 1e3:7.1f} ms, "
                f"{label} {incremental * 1e3:6.1f} ms, median ratio {ratio:.3f}"
            )


def bench_hook_calls(model: GPT, ids: torch.Tensor, rounds: int, repeats: int) -> None:
    """(d): hook points through nn.Module.__call__ against a direct call of their forward."""
    model.eval()

    def bypassing(action):
        def run():
            HookPoint.__call__ = HookPoint.forward  # the old shortcut: PyTorch's hooks never run
            try:
                action()
            finally:
                del HookPoint.__call__  # back to nn.Module.__call__

        return run

    @torch.no_grad()
    def plain_forward():
        model(ids)

    def full_trace():
        model.trace(ids)

    for label, action in (("full trace", full_trace), ("plain forward", plain_forward)):
        for clock, (direct, module_call, ratio) in _interleaved_ratio(
            bypassing(action), action, rounds, repeats
        ).items():
            print(
                f"(d) {clock:>4}: {label}: hook points called directly {direct * 1e3:6.3f} ms, as nn.Modules "
                f"{module_call * 1e3:6.3f} ms, median ratio = {ratio:.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 keeps timings steadier)")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--extra-vocab", type=int, default=4096, help="(a) again at this vocabulary size (0: skip)")
    parser.add_argument("--batch", type=int, default=8, help="batch size for the forward+backward comparison")
    parser.add_argument("--incremental", action="store_true", help="only (c): incremental against full traces")
    parser.add_argument("--hook-calls", action="store_true", help="only (d): hook points as nn.Modules or not")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.incremental:
        print(f"torch {torch.__version__}, {args.threads} thread(s), load average {os.getloadavg()[0]:.1f}")
        return bench_incremental(args.rounds)

    config = preset("micro", context_length=max(args.tokens, preset("micro").context_length))
    if args.hook_calls:
        torch.manual_seed(0)
        print(f"torch {torch.__version__}, {args.threads} thread(s), load average {os.getloadavg()[0]:.1f}")
        ids = torch.randint(0, config.vocab_size, (1, args.tokens))
        return bench_hook_calls(GPT(config), ids, args.rounds, 5)
    print(
        f"micro preset ({config.n_layers} layers, {config.n_heads} heads, d_model {config.d_model}, "
        f"vocab {config.vocab_size}), T={args.tokens}, torch {torch.__version__}, {args.threads} thread(s), "
        f"{platform.processor() or platform.machine()}, load average {os.getloadavg()[0]:.1f}"
    )
    _report_overhead(config, args.tokens, args.rounds, "(a)")
    if args.extra_vocab:
        bigger_vocab = config.with_changes(vocab_size=args.extra_vocab)
        _report_overhead(bigger_vocab, args.tokens, args.rounds, f"(a, vocab {args.extra_vocab})")

    torch.manual_seed(0)
    model = GPT(config)
    batch = torch.randint(0, config.vocab_size, (args.batch, args.tokens + 1))
    rounds = max(10, args.rounds // 10)  # a training step is ~20x a single forward
    for clock, (fast, explicit, ratio) in bench_attention_paths(model, batch[:, :-1], batch[:, 1:], rounds, 1).items():
        print(
            f"(b) {clock:>4}: forward+backward, batch {args.batch}: fast path {fast * 1e3:6.2f} ms, "
            f"explicit {explicit * 1e3:6.2f} ms, median ratio explicit/fast = {ratio:.2f}"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
