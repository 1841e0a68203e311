"""Does tuning glibc's malloc (core's keep_freed_memory) pay? Traces and training steps, with and without.

Each setting runs in its own fresh process (malloc's thresholds cannot be set back to "untuned"),
alternating tuned/untuned processes several times so the load of a shared machine falls on both alike.
Per process: the median time of a full `model.trace(ids)` (micro preset, vocab 4096, T=64) and of a
training step (micro, batch 12, ctx 64), and the minor page faults of each. Prints ratios untuned/tuned.

    .venv/bin/python benchmarks/bench_malloc.py [--processes 4] [--repeats 40]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(tuned: bool, repeats: int) -> None:
    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT))
    from core import GPT, preset
    from core.training.dataset import TokenDataset
    from core.training.trainer import TrainConfig, Trainer
    from core.speed.malloc import keep_freed_memory

    torch.set_num_threads(1)
    if tuned:
        assert keep_freed_memory()
    else:  # the trace and the trainer ask for the tuning themselves: make their request do nothing
        import core.model.trace
        import core.training.trainer

        for module in (core.model.trace, core.training.trainer):
            if hasattr(module, "keep_freed_memory"):
                module.keep_freed_memory = lambda: False
    torch.manual_seed(0)
    model = GPT(preset("micro", vocab_size=4096)).eval()
    ids = torch.randint(0, 4096, (1, 64))

    def measure(action) -> tuple[float, float]:
        for _ in range(3):
            action()
        seconds, faults = [], []
        for _ in range(repeats):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            started = time.perf_counter()
            action()
            seconds.append(time.perf_counter() - started)
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        return statistics.median(seconds), statistics.median(faults)

    trace_s, trace_faults = measure(lambda: model.trace(ids))
    tokens = np.random.default_rng(0).integers(0, 4096, 20_000).astype(np.int64)
    config = TrainConfig(
        batch_size=12, context_length=64, eval_interval=0, sample_interval=0, snapshot_interval=0, device="cpu"
    )
    trainer = Trainer(GPT(preset("micro", vocab_size=4096)), TokenDataset(tokens, 0.0), config)
    step_s, step_faults = measure(trainer.step)
    print(json.dumps({"trace_s": trace_s, "trace_faults": trace_faults, "step_s": step_s, "step_faults": step_faults}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4, help="fresh processes per setting")
    parser.add_argument("--repeats", type=int, default=40, help="timed traces and steps per process")
    parser.add_argument("--child", choices=("tuned", "untuned"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child == "tuned", args.repeats)
    results: dict[str, list[dict]] = {"tuned": [], "untuned": []}
    for _ in range(args.processes):
        for setting in ("untuned", "tuned"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", setting, "--repeats", str(args.repeats)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            results[setting].append(json.loads(out.splitlines()[-1]))

    def median(setting: str, key: str) -> float:
        return statistics.median(r[key] for r in results[setting])

    summary = {"processes": args.processes, "repeats": args.repeats}
    for key in ("trace_s", "trace_faults", "step_s", "step_faults"):
        summary[key] = {"untuned": round(median("untuned", key), 5), "tuned": round(median("tuned", key), 5)}
    summary["trace_time_untuned_over_tuned"] = round(median("untuned", "trace_s") / median("tuned", "trace_s"), 3)
    summary["step_time_untuned_over_tuned"] = round(median("untuned", "step_s") / median("tuned", "step_s"), 3)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
