"""Which recipe gets the CLI to the baseline's validation loss in the fewest steps? One run per call.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_training_recipes.py --evals 400,450,500 -- \\
        --optimizer muon --lr-decay linear --lr 1e-2 --min-lr 1e-4 --warmup 40 --beta1 0.8 --steps 500

Everything after `--` is given to the CLI (`python -m core.training.train`) on top of the benchmark's
fixed part (bench_training_cli.CLI_RECIPE: the baseline's model, data and validation split). The run is
built exactly as the CLI builds it, trained in this process on one torch thread, and measured at the
`--evals` steps (and the last) on the 400 validation windows every part of bench_training.py uses.
Prints one JSON line: the CLI options, CPU milliseconds a step, and (step, validation loss) pairs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_training import SHAKESPEARE, load_data, make_evaluator  # noqa: E402
from bench_training_cli import CLI_RECIPE  # noqa: E402

from core.training.train import build_parser, build_trainer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", default="", help="steps at which to measure the validation loss, e.g. 400,450")
    parser.add_argument("cli", nargs=argparse.REMAINDER, help="-- then the CLI's options")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cli = [option for option in args.cli if option != "--"]
    trainer = build_trainer(build_parser().parse_args([str(SHAKESPEARE), *CLI_RECIPE, *cli]))
    val_loss = make_evaluator(load_data()[0])
    evals = {int(step) for step in args.evals.split(",") if step} | {trainer.config.max_steps}
    cpu, curve = 0.0, []
    while trainer.step_count < trainer.config.max_steps:
        started = time.process_time()
        trainer.step()
        cpu += time.process_time() - started
        if trainer.step_count in evals:
            curve.append((trainer.step_count, round(val_loss(trainer.model), 4)))
    print(json.dumps({"cli": cli, "cpu_ms_per_step": round(1000 * cpu / trainer.step_count, 1), "curve": curve}))


if __name__ == "__main__":
    main()
