"""Training benchmarks against a plain PyTorch GPT (benchmarks/baseline_gpt.py), measured in one run.

    .venv/bin/python benchmarks/bench_training.py                 # every part
    .venv/bin/python benchmarks/bench_training.py --part throughput --rounds 12

(a) throughput: the project's Trainer on nanoGPT's exact recipe (same model size, batch, optimizer
    settings, float32) against the baseline loop, alternating single steps so that the load of a
    shared machine falls on both alike. Reports the median of the per-round tokens/s ratios.
(b) time to quality: the project's default recipe (TrainConfig() defaults, micro preset, context 64)
    against the baseline's 2,000-step recipe, both trained in alternating chunks and measured on the
    same 400 fixed validation windows. Time counts training steps only (not evaluation).
bf16: the default recipe with and without bfloat16 autocast (sets TrainConfig.bf16's default).
(c) memory: peak RSS of a micro-preset CLI run and of the baseline loop, each in a fresh process.
(d) cli (`--part cli --runs 5`): `python -m core.training.train` as a user runs it, start-up included,
    against the baseline's whole 2,000-step recipe, each in a fresh process with one torch thread; both
    models are then measured on part (b)'s validation windows. Reports time and tokens/s ratios.

Needs /work/shared/data/tinyshakespeare.txt (read, never copied). Prints a JSON line per part.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline_gpt import BaselineRecipe, BaselineRun  # noqa: E402

from core.model.config import preset  # noqa: E402
from core.training.dataset import TokenDataset  # noqa: E402
from core.model.model import GPT  # noqa: E402
from core.tokenizers import CharTokenizer  # noqa: E402
from core.training.trainer import Trainer, TrainConfig  # noqa: E402

SHAKESPEARE = Path(os.environ.get("TINYSHAKESPEARE", "/work/shared/data/tinyshakespeare.txt"))
TARGET_VAL_LOSS = 1.886  # where nanoGPT's CPU recipe ends after 2,000 steps


def load_data() -> tuple[TokenDataset, int]:
    text = SHAKESPEARE.read_text(encoding="utf-8")
    tokenizer = CharTokenizer.from_text(text)
    tokens = np.array(tokenizer.encode(text), dtype=np.uint16)
    return TokenDataset(tokens, val_fraction=0.1), tokenizer.vocab_size  # nanoGPT: the last 10% is val


def nanogpt_recipe_config(**changes) -> TrainConfig:
    """The baseline's recipe, written as a TrainConfig."""
    r = BaselineRecipe()
    settings = dict(
        learning_rate=r.learning_rate,
        min_lr=r.min_lr,
        warmup_steps=r.warmup_iters,
        max_steps=r.lr_decay_iters,
        batch_size=r.batch_size,
        context_length=r.block_size,
        weight_decay=r.weight_decay,
        beta1=r.beta1,
        beta2=r.beta2,
        grad_clip=r.grad_clip,
        eval_interval=0,
        sample_interval=0,
        snapshot_interval=0,
        bf16=False,
    )
    return TrainConfig(**{**settings, **changes})


def our_trainer(dataset: TokenDataset, vocab_size: int, config: TrainConfig) -> Trainer:
    """The micro preset with nanoGPT's exact GELU (the baseline's architecture), trained by our Trainer."""
    torch.manual_seed(config.seed)
    model = GPT(preset("micro", vocab_size=vocab_size, context_length=config.context_length, activation="gelu"))
    return Trainer(model, dataset, config)


def timed(step, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        step()
    return time.perf_counter() - started


def timed_both(step) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - wall, time.process_time() - cpu


# -- (a) throughput -----------------------------------------------------------------------------------
def bench_throughput(rounds: int, steps_per_chunk: int) -> dict:
    dataset, vocab_size = load_data()
    ours = our_trainer(dataset, vocab_size, nanogpt_recipe_config())
    baseline = BaselineRun(dataset.train, vocab_size)
    timed(ours.step, 5), timed(baseline.step, 5)  # warm up both
    ratios, cpu_ratios = [], []
    totals = {"ours": [0.0, 0.0], "baseline": [0.0, 0.0]}  # [wall, cpu]
    for _ in range(rounds):
        seconds = {"ours": [0.0, 0.0], "baseline": [0.0, 0.0]}
        order = [("ours", ours.step), ("baseline", baseline.step)]
        for _ in range(steps_per_chunk):  # single steps, alternating: load spikes hit both alike
            order.reverse()
            for name, step in order:
                wall, cpu = timed_both(step)
                seconds[name][0] += wall
                seconds[name][1] += cpu
        # Both read the same tokens per step, so a time ratio is the tokens/s ratio.
        ratios.append(seconds["baseline"][0] / seconds["ours"][0])
        cpu_ratios.append(seconds["baseline"][1] / seconds["ours"][1])
        for name in totals:
            totals[name][0] += seconds[name][0]
            totals[name][1] += seconds[name][1]
    tokens = rounds * steps_per_chunk * baseline.tokens_per_step
    return {
        "part": "throughput",
        "config": "micro 4x4x128, ctx 64, batch 12, fp32, nanoGPT optimizer settings",
        "rounds": rounds,
        "step_pairs_per_round": steps_per_chunk,
        "ours_tokens_per_s": round(tokens / totals["ours"][0], 1),
        "baseline_tokens_per_s": round(tokens / totals["baseline"][0], 1),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_total": round(totals["baseline"][0] / totals["ours"][0], 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
        # tokens per CPU-second: what each gets from the time it is actually on a core
        "cpu_ratio_median": round(statistics.median(cpu_ratios), 3),
        "cpu_ratio_total": round(totals["baseline"][1] / totals["ours"][1], 3),
    }


# -- does bf16 autocast help? ---------------------------------------------------------------------------
def bench_bf16(rounds: int, steps_per_chunk: int) -> dict:
    """Our default recipe with and without bf16 autocast, alternating steps; >1 means bf16 is faster."""
    dataset, vocab_size = load_data()
    recipe = TrainConfig(eval_interval=0, sample_interval=0, snapshot_interval=0)
    runs = {bf16: our_trainer(dataset, vocab_size, replace(recipe, bf16=bf16)) for bf16 in (False, True)}
    totals = {False: [0.0, 0.0], True: [0.0, 0.0]}
    for run in runs.values():
        run.step()
    for _ in range(rounds * steps_per_chunk):
        for bf16, run in runs.items():
            wall, cpu = timed_both(run.step)
            totals[bf16][0] += wall
            totals[bf16][1] += cpu
    return {
        "part": "bf16",
        "batch_size": recipe.batch_size,
        "context_length": recipe.context_length,
        "bf16_speedup_wall": round(totals[False][0] / totals[True][0], 3),
        "bf16_speedup_cpu": round(totals[False][1] / totals[True][1], 3),
    }


# -- (b) time to quality ------------------------------------------------------------------------------
@torch.no_grad()
def make_evaluator(dataset: TokenDataset, windows: int = 400, context: int = 64):
    x, y = dataset.get_batch("val", windows, context, torch.Generator().manual_seed(0))

    def val_loss(model) -> float:
        was_training = model.training
        model.eval()
        losses = [model(x[i : i + 50], y[i : i + 50])[1].item() for i in range(0, windows, 50)]
        model.train(was_training)
        return float(np.mean(losses))

    return val_loss


class Contender:
    """One training run, advanced a chunk at a time, timing only its steps.

    It runs its recipe's `recipe_steps`; with `extend_to`, it keeps going (at the schedule's final
    learning rate) until it reaches the target loss or `extend_to` steps.
    """

    def __init__(
        self,
        name: str,
        step,
        model,
        recipe_steps: int,
        chunk: int,
        tokens_per_step: int,
        val_loss,
        extend_to: int | None = None,
    ) -> None:
        self.name, self.step, self.model, self.chunk = name, step, model, chunk
        self.recipe_steps, self.limit = recipe_steps, max(recipe_steps, extend_to or 0)
        self.tokens_per_step, self.val_loss = tokens_per_step, val_loss
        self.steps, self.seconds, self.cpu_seconds, self.curve = 0, 0.0, 0.0, []

    @property
    def done(self) -> bool:
        if self.steps < self.recipe_steps:
            return False
        return self.steps >= self.limit or self.first_at_or_below(TARGET_VAL_LOSS) is not None

    def first_at_or_below(self, loss: float):
        """(step, wall seconds, cpu seconds) of the first evaluation at or below `loss`, or None."""
        return next(((step, wall, cpu) for step, wall, cpu, value in self.curve if value <= loss), None)

    def at_recipe_end(self) -> tuple[int, float, float, float]:
        """(step, wall, cpu, loss) where the recipe's own schedule ends."""
        return next(point for point in self.curve if point[0] == self.recipe_steps)

    def advance(self) -> None:
        n = min(self.chunk, self.limit - self.steps)
        wall, cpu = timed_both(lambda: timed(self.step, n))
        self.seconds += wall
        self.cpu_seconds += cpu
        self.steps += n
        loss = self.val_loss(self.model)
        self.curve.append((self.steps, round(self.seconds, 2), round(self.cpu_seconds, 2), round(loss, 4)))

    def pace(self) -> None:
        """Train on, unrecorded, so the other run never has the machine to itself."""
        timed(self.step, self.chunk)


def bench_time_to_quality() -> dict:
    dataset, vocab_size = load_data()
    val_loss = make_evaluator(dataset)
    recipe = TrainConfig(eval_interval=0, sample_interval=0, snapshot_interval=0)  # the project's defaults
    ours = our_trainer(dataset, vocab_size, recipe)
    baseline = BaselineRun(dataset.train, vocab_size)
    base_recipe = BaselineRecipe()
    contenders = [
        # Evaluated every 10 / 20 steps (about every 1% of each run); evaluation time is not counted.
        Contender(
            "ours", ours.step, ours.model, recipe.max_steps, 10, recipe.batch_size * recipe.context_length, val_loss
        ),
        # nanoGPT's recipe does not always get to the target in its 2,000 steps; then it trains on at
        # its final learning rate (nanoGPT's get_lr past lr_decay_iters) to find its time to the target.
        Contender(
            "baseline",
            baseline.step,
            baseline.model,
            base_recipe.max_iters,
            20,
            baseline.tokens_per_step,
            val_loss,
            extend_to=2 * base_recipe.max_iters,
        ),
    ]
    while not all(c.done for c in contenders):
        for contender in contenders:  # alternate chunks, so load on the shared machine hits both alike
            if not contender.done:
                contender.advance()
            else:
                contender.pace()
    ours_c, base_c = contenders
    base_end = base_c.at_recipe_end()
    result = {
        "part": "time_to_quality",
        "target_val_loss": TARGET_VAL_LOSS,
        "our_recipe": {
            k: v
            for k, v in recipe.to_dict().items()
            if k
            in ("learning_rate", "min_lr", "warmup_steps", "max_steps", "batch_size", "beta1", "context_length", "bf16")
        },
        "model": "micro 4x4x128 with exact GELU for both; 400 fixed validation windows of 64 tokens",
    }
    for c in contenders:
        result[c.name] = {
            "target_reached_at": _point(c.first_at_or_below(TARGET_VAL_LOSS), c.tokens_per_step),
            "baseline_2000_step_loss_reached_at": _point(c.first_at_or_below(base_end[3]), c.tokens_per_step),
            "loss_at_recipe_end": c.at_recipe_end()[3],
            "steps_run": c.steps,
            "train_seconds": round(c.seconds, 2),
            "train_cpu_seconds": round(c.cpu_seconds, 2),
            "curve_step_wall_cpu_loss": c.curve,
        }
    ours_target, base_target = ours_c.first_at_or_below(TARGET_VAL_LOSS), base_c.first_at_or_below(TARGET_VAL_LOSS)
    if ours_target and base_target:
        result["time_ratio_to_target"] = _ratios(ours_target, base_target)
    if ours_target:  # against the baseline's whole 2,000-step run, wherever that ended
        result["time_ratio_to_target_vs_whole_baseline_recipe"] = _ratios(ours_target, base_end[:3])
    ours_same = ours_c.first_at_or_below(base_end[3])
    if ours_same:
        result["time_ratio_to_baseline_2000_step_loss"] = _ratios(ours_same, base_c.first_at_or_below(base_end[3]))
    return result


def _point(point, tokens_per_step: int) -> dict | None:
    if point is None:
        return None
    step, wall, cpu = point
    return {"step": step, "tokens": step * tokens_per_step, "seconds": wall, "cpu_seconds": cpu}


def _ratios(ours, baseline) -> dict:
    return {"wall": round(ours[1] / baseline[1], 3), "cpu": round(ours[2] / baseline[2], 3)}


# -- (c) memory ---------------------------------------------------------------------------------------
def child_run(which: str, steps: int) -> None:
    """Run in a fresh process: train, then print this process's peak RSS."""
    if which == "ours":
        from core.training.train import main

        main([str(SHAKESPEARE), "--preset", "micro", "--steps", str(steps), "--quiet", "--eval-interval", "0"])
    elif which == "baseline":
        dataset, vocab_size = load_data()
        run = BaselineRun(dataset.train, vocab_size)
        timed(run.step, steps)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the (large) parent across exec.
    status = Path("/proc/self/status").read_text()
    peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    print(json.dumps({"child": which, "peak_rss_mb": round(peak_kb / 1024, 1)}))


def bench_memory(steps: int) -> dict:
    peaks = {}
    for which in ("idle", "ours", "baseline"):
        output = subprocess.run(
            [sys.executable, __file__, "--child", which, "--steps", str(steps)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        peaks[which] = json.loads(output.strip().splitlines()[-1])["peak_rss_mb"]
    return {
        "part": "memory",
        "steps": steps,
        "config": "CLI: micro preset, ctx 64, batch 32, char tokenizer, tinyshakespeare",
        "ours_peak_rss_mb": peaks["ours"],
        "baseline_peak_rss_mb": peaks["baseline"],
        "python_and_torch_only_mb": peaks["idle"],
        "ratio": round(peaks["ours"] / peaks["baseline"], 3),
    }


def main() -> None:
    from bench_training_cli import CLI_SCHEDULE, CLI_STEPS, bench_cli, child_baseline_recipe  # part (d)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("throughput", "bf16", "quality", "memory", "cli", "all"), default="all")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--chunk", type=int, default=10, help="step pairs per round in the throughput part")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--child", choices=("idle", "ours", "baseline", "baseline-recipe"), help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=100, help="steps of the memory runs")
    parser.add_argument("--runs", type=int, default=5, help="cli part: rounds of our CLI against the baseline")
    parser.add_argument("--at-once", type=int, default=1, help="cli part: rounds run side by side")
    parser.add_argument("--cli-steps", type=int, default=CLI_STEPS, help="cli part: --steps given to the CLI")
    parser.add_argument("--cli-args", default=" ".join(CLI_SCHEDULE), help="cli part: our schedule's CLI options")
    parser.add_argument("--baseline-steps", type=int, help=argparse.SUPPRESS)  # a quick check of the cli part
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child == "baseline-recipe":
        child_baseline_recipe(args.baseline_steps)
        return
    if args.child:
        child_run(args.child, args.steps)
        return
    if not SHAKESPEARE.is_file():
        sys.exit(f"{SHAKESPEARE} is missing; set TINYSHAKESPEARE to its path.")
    print(
        json.dumps({"threads": torch.get_num_threads(), "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}),
        flush=True,
    )
    if args.part in ("throughput", "all"):
        print(json.dumps(bench_throughput(args.rounds, args.chunk)), flush=True)
    if args.part in ("bf16", "all"):
        print(json.dumps(bench_bf16(max(1, args.rounds // 3), args.chunk)), flush=True)
    if args.part in ("quality", "all"):
        print(json.dumps(bench_time_to_quality()), flush=True)
    if args.part in ("memory", "all"):
        print(json.dumps(bench_memory(args.steps)), flush=True)
    if args.part in ("cli", "all"):
        print(
            json.dumps(bench_cli(args.runs, args.cli_steps, args.cli_args.split(), args.at_once, args.baseline_steps)),
            flush=True,
        )


if __name__ == "__main__":
    main()
