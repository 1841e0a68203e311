"""Training benchmark, part (d): the CLI (`python -m core.training.train`), start-up included, against the
baseline's whole recipe, each a fresh process; run through `bench_training.py --part cli`."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_training
from baseline_gpt import BaselineRecipe, BaselineRun
from bench_training import SHAKESPEARE, load_data, make_evaluator, timed

from core.tokenizers import CharTokenizer

# -- (d) the command line, start-up included, against the baseline's whole recipe --------------------------
# What `python -m core.training.train` is given: the baseline's model (micro = 4 layers, 4 heads, 128 dims,
# context 64, exact GELU), data and validation split; our own schedule, eval only at the end.
CLI_RECIPE = [
    "--preset",
    "micro",
    "--activation",
    "gelu",
    "--context-length",
    "64",
    "--val-fraction",
    "0.1",
    "--eval-interval",
    "0",
    "--eval-batches",
    "2",
    "--no-save-optimizer",
    "--quiet",
]
# Our recipe (BENCHMARKS.md, "The command line against the baseline's whole run"): Muon for the blocks'
# weight matrices, AdamW for the rest, a linear decay; 500 steps reach 1.864 against the baseline's 1.906.
CLI_STEPS = 500
CLI_SCHEDULE = [
    "--optimizer",
    "muon",
    "--lr-decay",
    "linear",
    "--lr",
    "1e-2",
    "--min-lr",
    "1e-4",
    "--warmup",
    "40",
    "--beta1",
    "0.8",
]


def child_baseline_recipe(steps: int | None = None) -> None:
    """In a fresh process: nanoGPT's whole 2,000-step recipe (or `steps`: a quick check of this script), then
    its loss on the shared evaluator."""
    started = time.perf_counter()
    dataset, vocab_size = load_data()
    run = BaselineRun(dataset.train, vocab_size)
    cpu = time.process_time()
    loop_seconds = timed(run.step, steps or run.recipe.max_iters)
    loop_cpu = time.process_time() - cpu
    print(
        json.dumps(
            {
                "steps": steps or run.recipe.max_iters,
                "loop_seconds": loop_seconds,
                "loop_cpu_seconds": loop_cpu,
                "until_trained_seconds": time.perf_counter() - started,
                "val_loss": make_evaluator(dataset)(run.model),
            }
        )
    )


def _start(command: list[str]) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one torch thread each
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env), time.perf_counter()


def _wait_for_all(started: list[tuple[subprocess.Popen, float]]) -> dict[int, tuple[float, float]]:
    """pid -> (wall seconds from its start to its exit, CPU seconds it used), taken as each one exits."""
    start_of = {process.pid: t0 for process, t0 in started}
    ended = {}
    while len(ended) < len(start_of):
        pid, status, usage = os.wait4(-1, 0)
        if pid in start_of:
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"a benchmark process failed: {next(p.args for p, _ in started if p.pid == pid)}")
            ended[pid] = (time.perf_counter() - start_of[pid], usage.ru_utime + usage.ru_stime)
    for process, _ in started:
        process.returncode = 0  # reaped above
    return ended


def _finish(started: tuple[subprocess.Popen, float], ended: dict) -> tuple[dict, float, float]:
    """(its last JSON line, wall seconds from start to exit, CPU seconds of the child)."""
    process = started[0]
    return json.loads(process.stdout.read().strip().splitlines()[-1]), *ended[process.pid]


def cli_round_commands(steps: int, extra: list[str], out: Path, baseline_steps: int | None) -> tuple[list, list]:
    ours = [
        sys.executable,
        "-m",
        "core.training.train",
        str(SHAKESPEARE),
        *CLI_RECIPE,
        *extra,
        "--steps",
        str(steps),
        "--out",
        str(out),
    ]
    baseline = [
        sys.executable,
        bench_training.__file__,
        "--child",
        "baseline-recipe",
        *(["--baseline-steps", str(baseline_steps)] if baseline_steps else []),
    ]
    return ours, baseline


def run_cli_round_in_turn(commands: tuple[list, list], ours_first: bool) -> tuple:
    """Our CLI and the baseline one after the other, each on the machine without the other."""
    ours, baseline, ended = None, None, {}
    for which in ("ours", "baseline") if ours_first else ("baseline", "ours"):
        started = _start(commands[0] if which == "ours" else commands[1])
        ended.update(_wait_for_all([started]))
        ours, baseline = (started, baseline) if which == "ours" else (ours, started)
    return ours, baseline, ended


def finish_cli_round(ours, baseline, out: Path, ended: dict) -> dict:
    from core.files.checkpoint import load_checkpoint

    summary, ours_wall, ours_cpu = _finish(ours, ended)
    base, base_wall, _ = _finish(baseline, ended)
    dataset, _ = load_data()
    checkpoint = load_checkpoint(out)
    text = SHAKESPEARE.read_text(encoding="utf-8")
    if checkpoint.tokenizer.encode(text[-5000:]) != CharTokenizer.from_text(text).encode(text[-5000:]):
        raise RuntimeError("the CLI's characters are numbered unlike the baseline's")
    ours_loss = make_evaluator(dataset)(checkpoint.model)
    recipe = BaselineRecipe()
    base_tokens_per_s = base["steps"] * recipe.batch_size * recipe.block_size / base["loop_seconds"]
    return {
        "ours": {
            "process_wall_s": round(ours_wall, 2),
            "process_cpu_s": round(ours_cpu, 2),
            "val_loss": round(ours_loss, 4),
            "cli_tokens_per_s": summary["tokens_per_second"],
            "steps": summary["steps"],
        },
        "baseline": {
            "loop_wall_s": round(base["loop_seconds"], 2),
            "loop_cpu_s": round(base["loop_cpu_seconds"], 2),
            "until_trained_wall_s": round(base["until_trained_seconds"], 2),
            "process_wall_s": round(base_wall, 2),
            "val_loss": round(base["val_loss"], 4),
            "tokens_per_s": round(base_tokens_per_s, 1),
        },
        "reached_baseline_loss": ours_loss <= base["val_loss"],
        # Time to quality: our whole process (start-up, data, training, final evaluation, saving) against
        # the baseline's training loop alone (no start-up, no evaluation), the stricter reading; and
        # against the baseline from its process start to its last step.
        "time_ratio": round(ours_wall / base["loop_seconds"], 3),
        "time_ratio_vs_baseline_with_startup": round(ours_wall / base["until_trained_seconds"], 3),
        "cpu_time_ratio": round(ours_cpu / base["loop_cpu_seconds"], 3),
        # tokens per second of training: the CLI's own figure (its loop) against the baseline's loop
        "tokens_per_s_ratio": round(summary["tokens_per_second"] / base_tokens_per_s, 3),
    }


def bench_cli(runs: int, steps: int, extra: list[str], at_once: int, baseline_steps: int | None = None) -> dict:
    """`runs` rounds. at_once 1: in each round ours and the baseline run one after the other, who goes first
    alternating. at_once > 1: that many rounds side by side, each pair started at the same moment; on a busy
    machine the only way to fit five rounds in an hour, but then only the CPU-time ratio is fair: the
    shorter run shares the machine with the baseline all its life, and the baseline ends with more of it."""

    rounds = []
    with tempfile.TemporaryDirectory() as folder:
        for first in range(0, runs, at_once):
            wave = [
                (cli_round_commands(steps, extra, Path(folder) / f"run{i}", baseline_steps), Path(folder) / f"run{i}")
                for i in range(first, min(runs, first + at_once))
            ]
            if at_once == 1:
                ours, baseline, ended = run_cli_round_in_turn(wave[0][0], ours_first=first % 2 == 1)
                started = [(ours, baseline, wave[0][1])]
            else:
                started = [(_start(commands[0]), _start(commands[1]), out) for commands, out in wave]
                ended = _wait_for_all([process for ours, baseline, _ in started for process in (ours, baseline)])
            for ours, baseline, out in started:
                rounds.append(finish_cli_round(ours, baseline, out, ended))
                print(json.dumps({"round": len(rounds), **rounds[-1]}), flush=True)
    result = {
        "part": "cli",
        "runs": runs,
        "rounds_at_once": at_once,
        "command": ["-m", "core.training.train", "tinyshakespeare.txt", *CLI_RECIPE, *extra, "--steps", str(steps)],
        "all_reached_baseline_loss": all(r["reached_baseline_loss"] for r in rounds),
    }
    for key, worst in (
        ("time_ratio", max),
        ("time_ratio_vs_baseline_with_startup", max),
        ("cpu_time_ratio", max),
        ("tokens_per_s_ratio", min),
    ):
        values = [r[key] for r in rounds]
        result[key] = {"median": statistics.median(values), "worst": worst(values)}
    return result
