"""What does running AdamW's written-out formula cost, against torch's fused kernel?

The Trainer runs `AdamW.step_by_formula` (core/training/optimizer.py) on the CPU and torch's public fused
AdamW (`fused=True`) on CUDA. Here two Trainers on the same data, same seed, one with each optimizer,
take single steps in alternation (so a shared machine's load falls on both alike), for the studio's
default run (nano preset, batch 32, context 32) and the CLI's (micro preset, batch 12, context 64).
Prints per run the median step time of each and the median of per-round ratios formula/fused
(1.05 = the formula makes a whole training step 5% slower), and the optimizer step alone.

    .venv/bin/python benchmarks/bench_optimizer.py [--rounds 40] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from core import GPT, preset  # noqa: E402
from core.training.dataset import TokenDataset  # noqa: E402
from core.training.trainer import TrainConfig, Trainer  # noqa: E402

RUNS = {
    "studio default (nano, batch 32, ctx 32)": ("nano", 32, 32),
    "CLI default (micro, batch 12, ctx 64)": ("micro", 12, 64),
}


def trainer(size: str, batch: int, context: int, fused: bool) -> Trainer:
    tokens = np.random.default_rng(0).integers(0, 65, 50_000).astype(np.int64)
    config = TrainConfig(
        batch_size=batch, context_length=context, eval_interval=0, sample_interval=0, snapshot_interval=0, device="cpu"
    )
    torch.manual_seed(0)
    made = Trainer(GPT(preset(size, vocab_size=65, context_length=context)), TokenDataset(tokens, 0.0), config)
    made.optimizer.fused = fused
    return made


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench(size: str, batch: int, context: int, rounds: int, steps: int) -> dict:
    formula, fused = trainer(size, batch, context, False), trainer(size, batch, context, True)
    for _ in range(3):
        formula.step(), fused.step()
    step_ratios, step_s = [], {"formula": [], "fused": []}
    for _ in range(rounds):
        seconds = {"formula": 0.0, "fused": 0.0}
        for _ in range(steps):
            seconds["formula"] += timed(formula.step)
            seconds["fused"] += timed(fused.step)
        step_ratios.append(seconds["formula"] / seconds["fused"])
        for name in seconds:
            step_s[name].append(seconds[name] / steps)
    optimizer_s = {}
    for name, which in (("formula", formula), ("fused", fused)):
        for p in which.model.parameters():
            p.grad = torch.randn_like(p) * 1e-3
        optimizer_s[name] = statistics.median(timed(lambda: which.optimizer.step(1e-4)) for _ in range(50))
    return {
        "step_ms": {name: round(statistics.median(v) * 1e3, 2) for name, v in step_s.items()},
        "step_ratio_formula_over_fused": round(statistics.median(step_ratios), 3),
        "optimizer_step_ms": {name: round(v * 1e3, 3) for name, v in optimizer_s.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--steps", type=int, default=3, help="step pairs per round")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "load": os.getloadavg()[0]}))
    for name, (size, batch, context) in RUNS.items():
        print(json.dumps({"run": name, **bench(size, batch, context, args.rounds, args.steps)}), flush=True)


if __name__ == "__main__":
    main()
