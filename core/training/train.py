"""Train a GPT from the command line (`attention-lab-train` or `python -m core.training.train`).

    attention-lab-train lessons --tokenizer char --preset micro --steps 2000 --out runs/lessons
    attention-lab-train induction --preset nano --n-layers 2 --steps 1500 --out runs/induction
    attention-lab-train notes.txt --tokenizer bpe --vocab-size 512 --time 300 --out runs/notes
    attention-lab-train lessons --resume runs/lessons --steps 4000
    attention-lab-train notes.txt --init-from ~/models/SmolLM2-135M --context-length 128 --steps 200 --out runs/mine
    torchrun --nproc_per_node=4 -m core.training.train python-docs --preset small --steps 5000 --out runs/big

A progress bar goes to stderr; when training ends, one line of JSON goes to stdout:
    {"steps": 2000, "wall_seconds": 95.2, "train_loss": 1.71, "val_loss": 1.86, "tokens_per_second": 16134, ...}
Under torchrun every process trains on its share of each batch; only the first one prints and saves.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

from tqdm import tqdm

from core.files.checkpoint import load_checkpoint, resume_trainer, save_trainer
from core.model.config import ACTIVATIONS, POSITIONAL_ENCODINGS, PRESETS, GPTConfig
from core.training import distributed
from core.training.corpora import BUILTIN_CORPORA, STORY_COUNT, encode_text
from core.training.dataset import TokenDataset
from core.training.finetune import (
    FINETUNE_LEARNING_RATE,
    check_training_fits,
    load_model_to_finetune,
    training_context_length,
)
from core.training.recipe import corpus_kind_of, corpus_text, prepare_run
from core.training.run_setup import CUSTOM_SIZES, POSITION_STARTS, RunSetup
from core.training.synthetic import SYNTHETIC_TASKS
from core.training.schedule import LR_DECAYS
from core.training.train_config import OPTIMIZERS
from core.training.trainer import Trainer, TrainConfig

DEFAULTS = TrainConfig()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attention-lab-train",
        description="Train a small GPT and save it as a checkpoint folder.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "corpus",
        nargs="+",
        help=(
            f"what to train on: a built-in corpus ({', '.join(BUILTIN_CORPORA)}), a synthetic task "
            f"({', '.join(SYNTHETIC_TASKS)}) or a text file; several are joined with a blank line"
        ),
    )
    data = parser.add_argument_group("data and tokenizer")
    data.add_argument(
        "--tokenizer",
        choices=("char", "bpe"),
        default="char",
        help="one token per character, or BPE trained on the corpus",
    )
    data.add_argument("--vocab-size", type=int, default=512, help="BPE only: vocabulary size (256 bytes + merges)")
    data.add_argument(
        "--val-fraction", type=float, default=0.1, help="share of the text held out for validation (taken from its end)"
    )
    data.add_argument(
        "--synthetic-examples", type=int, default=20000, help="synthetic tasks: how many example lines to generate"
    )
    data.add_argument(
        "--stories",
        type=int,
        default=STORY_COUNT,
        help="the stories corpus: how many stories to write (seeded by --seed)",
    )
    model = parser.add_argument_group("model")
    model.add_argument("--preset", choices=tuple(PRESETS), default="micro", help="model size to start from")
    model.add_argument("--n-layers", type=int, help="transformer blocks (overrides the preset)")
    model.add_argument("--n-heads", type=int, help="attention heads per block")
    model.add_argument("--d-model", type=int, help="width of the residual stream")
    model.add_argument("--d-mlp", type=int, help="hidden width of each MLP (default 4 x d-model)")
    model.add_argument(
        "--context-length",
        type=int,
        default=DEFAULTS.context_length,
        help="tokens the model reads at once (with --init-from: the training windows, at most the model's context)",
    )
    model.add_argument(
        "--pos-encoding", choices=POSITIONAL_ENCODINGS, default="learned", help="how positions are encoded"
    )
    model.add_argument(
        "--position-start",
        choices=POSITION_STARTS,
        default="random",
        help="learned positions: start them random, or as the sines and cosines of the original Transformer",
    )
    model.add_argument(
        "--activation",
        choices=ACTIVATIONS,
        default=GPTConfig().activation,
        help="the MLP's GELU: GPT-2's tanh approximation, or the exact one (cheaper on CPUs)",
    )
    model.add_argument("--dropout", type=float, default=0.0, help="dropout probability while training")
    model.add_argument(
        "--init-from",
        type=Path,
        metavar="FOLDER",
        help=(
            "fine-tune: start from this model (a Hugging Face folder, or a checkpoint folder of ours) with its own "
            "tokenizer and architecture; the tokenizer and size options above are then not used"
        ),
    )
    hyper = parser.add_argument_group("training")
    hyper.add_argument(
        "--lr",
        type=float,
        help=f"peak learning rate (default {DEFAULTS.learning_rate:g}, or {FINETUNE_LEARNING_RATE:g} with --init-from)",
    )
    hyper.add_argument("--min-lr", type=float, help="learning rate at the end of the decay (default lr / 10)")
    hyper.add_argument(
        "--lr-decay", choices=LR_DECAYS, default=DEFAULTS.lr_decay, help="the decay's shape from --lr to --min-lr"
    )
    hyper.add_argument("--warmup", type=int, default=DEFAULTS.warmup_steps, help="warmup steps")
    hyper.add_argument(
        "--batch-size", type=int, default=DEFAULTS.batch_size, help="windows per step, over all processes"
    )
    hyper.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=DEFAULTS.optimizer,
        help="muon: orthogonalised momentum for the blocks' weight matrices, AdamW for the rest",
    )
    hyper.add_argument("--weight-decay", type=float, default=DEFAULTS.weight_decay)
    hyper.add_argument("--beta1", type=float, default=DEFAULTS.beta1)
    hyper.add_argument("--beta2", type=float, default=DEFAULTS.beta2)
    hyper.add_argument("--grad-clip", type=float, default=DEFAULTS.grad_clip, help="0 turns clipping off")
    hyper.add_argument(
        "--eval-interval", type=int, default=DEFAULTS.eval_interval, help="steps between loss measurements"
    )
    hyper.add_argument("--eval-batches", type=int, default=DEFAULTS.eval_batches)
    hyper.add_argument(
        "--sample-interval", type=int, default=0, help="steps between text samples printed to stderr (0: none)"
    )
    hyper.add_argument("--seed", type=int, default=DEFAULTS.seed)
    hyper.add_argument("--device", default=DEFAULTS.device, help="auto, cpu, cuda, cuda:N or mps")
    hyper.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=DEFAULTS.bf16, help="bfloat16 autocast")
    stop = parser.add_argument_group("when to stop (whichever comes first)")
    stop.add_argument(
        "--steps",
        type=int,
        default=DEFAULTS.max_steps,
        help="optimizer steps; also the length of the learning-rate schedule",
    )
    stop.add_argument("--time", type=float, help="seconds of training")
    stop.add_argument("--target-val-loss", type=float, help="stop once the validation loss is at or below this")
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, help="checkpoint folder to write (default: the --resume folder)")
    out.add_argument("--resume", type=Path, help="continue the run saved in this checkpoint folder")
    out.add_argument("--save-interval", type=int, default=0, help="also save every N steps (0: only at the end)")
    out.add_argument(
        "--save-optimizer",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep AdamW's state in the checkpoint so the run can be resumed (about 2x the weights' size)",
    )
    out.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


# -- from arguments to the one RunSetup the studio uses too -------------------------------------------
def run_setup(args) -> RunSetup:
    """The arguments as a RunSetup (core/training/run_setup.py); the first corpus names the text."""
    lr = args.lr if args.lr is not None else FINETUNE_LEARNING_RATE if args.init_from else DEFAULTS.learning_rate
    min_lr = args.min_lr if args.min_lr is not None else lr / 10
    sizes = {"n_layers": args.n_layers, "n_heads": args.n_heads, "d_model": args.d_model}
    overrides = {name: value for name, value in sizes.items() if value is not None}
    if overrides:  # the preset's sizes with these changed
        model = dict(model_preset=CUSTOM_SIZES, **{**PRESETS[args.preset], **overrides})
    else:
        model = dict(model_preset=args.preset)
    return RunSetup(
        corpus_kind=corpus_kind_of(args.corpus[0]),
        corpus_name=args.corpus[0],
        synthetic_examples=args.synthetic_examples,
        stories=args.stories,
        val_fraction=args.val_fraction,
        tokenizer=args.tokenizer,
        bpe_vocab_size=args.vocab_size,
        **model,
        d_mlp=args.d_mlp or 0,
        pos_encoding=args.pos_encoding,
        activation=args.activation,
        position_start=args.position_start,
        dropout=args.dropout,
        learning_rate=lr,
        final_lr_fraction=min_lr / lr if lr > 0 else 0.0,
        lr_decay=args.lr_decay,
        batch_size=args.batch_size,
        context_length=args.context_length,
        max_steps=args.steps,
        warmup_steps=args.warmup,
        weight_decay=args.weight_decay,
        beta1=args.beta1,
        beta2=args.beta2,
        grad_clip=args.grad_clip,
        optimizer=args.optimizer,
        seed=args.seed,
        eval_interval=args.eval_interval,
        eval_batches=args.eval_batches,
        sample_interval=args.sample_interval,
        sample_length=DEFAULTS.sample_length,
        snapshot_interval=0,
        device=args.device,
        bf16=args.bf16,
        fast_step=True,  # nothing here charts the per-part records the plain step keeps
    )


def joined_text(args, setup: RunSetup) -> str:
    """The text of every corpus argument, joined by a blank line."""
    texts = [
        corpus_text(setup.with_changes(corpus_kind=corpus_kind_of(name), corpus_name=name)) for name in args.corpus
    ]
    return "\n\n".join(texts)


def print_bpe_progress(stream=None, every_s: float = 2.0):
    """A progress callback for BPE training that writes a line to stderr every few seconds, and the last."""
    stream = stream or sys.stderr
    started = time.perf_counter()
    last_line = [started]

    def progress(done: int, wanted: int) -> None:
        now = time.perf_counter()
        if now - last_line[0] >= every_s or done == wanted:
            last_line[0] = now
            elapsed = tqdm.format_interval(now - started)
            print(f"learning BPE merges: {done}/{wanted}, {elapsed} elapsed", file=stream, flush=True)

    return progress


def build_trainer(args) -> Trainer:
    """A new run from the arguments, the --resume run continued (its tokenizer and settings kept), or a
    fine-tune of the --init-from model."""
    setup = run_setup(args)
    if args.init_from is not None:
        return finetune_trainer(args, setup)
    if args.resume is not None:
        checkpoint = load_checkpoint(args.resume)
        tokens = encode_text(joined_text(args, setup), checkpoint.tokenizer)
        config = checkpoint.train_config
        if config is not None:
            config = dataclasses.replace(config, max_steps=args.steps, device=args.device, fast_step=True)
        return resume_trainer(checkpoint, TokenDataset(tokens, args.val_fraction), config)
    show_progress = distributed.rank() == 0 and not args.quiet
    progress = print_bpe_progress() if show_progress else None
    return prepare_run(setup, text=joined_text(args, setup), progress=progress).trainer


def finetune_trainer(args, setup: RunSetup) -> Trainer:
    """A run that starts from the --init-from model's weights, on text cut into that model's own tokens."""
    if args.resume is not None:
        raise ValueError("--init-from starts a new run from a model and --resume continues a saved run; use one.")
    model, tokenizer = load_model_to_finetune(args.init_from)
    check_training_fits(model, f"the model in {args.init_from}", weights_loaded=True)
    tokens = encode_text(joined_text(args, setup), tokenizer)
    context_length = training_context_length(model, args.context_length)
    config = dataclasses.replace(setup.train_config(), context_length=context_length)
    return Trainer(model, TokenDataset(tokens, args.val_fraction), config, tokenizer)


# -- the training loop ------------------------------------------------------------------------------
def train(args) -> dict:
    """Run until a stop condition holds; save; return the summary."""
    trainer = build_trainer(args)
    out = args.out or args.resume
    bar = progress_bar(args.steps, trainer.step_count) if trainer.is_main and not args.quiet else None
    started = time.perf_counter()
    first_step, tokens_before = trainer.step_count, trainer.tokens_seen
    stopped_because, last_eval = "steps", None
    record = None
    try:
        while trainer.step_count < args.steps:
            record = trainer.step()
            if record.diverged:
                stopped_because = "diverged"
                _say(trainer, record.message)
                break
            if record.val_loss is not None:
                last_eval = (record.step, record.train_loss_eval, record.val_loss)
            if bar:
                tokens, seconds = trainer.tokens_seen - tokens_before, time.perf_counter() - started
                show_progress(bar, record, last_eval, tokens, seconds)
            if record.sample:
                _say(trainer, f"\n--- sample at step {record.step} ---\n{record.sample}\n")
            if args.save_interval and out and record.step % args.save_interval == 0 and trainer.is_main:
                save_trainer(out, trainer, with_optimizer=args.save_optimizer)
            target = args.target_val_loss
            if target is not None and record.val_loss is not None and record.val_loss <= target:
                stopped_because = "target"
                break
            if args.time is not None and distributed.broadcast_flag(time.perf_counter() - started >= args.time):
                stopped_because = "time"
                break
    except KeyboardInterrupt:
        stopped_because = "interrupted"
    wall = time.perf_counter() - started
    if bar:
        bar.close()
    if last_eval is None or last_eval[0] != trainer.step_count:
        losses = trainer.evaluate()
        last_eval = (trainer.step_count, losses["train"], losses["val"])
    if out and trainer.is_main:
        save_trainer(out, trainer, with_optimizer=args.save_optimizer)
    return {
        "steps": trainer.step_count,
        "steps_this_run": trainer.step_count - first_step,
        "wall_seconds": round(wall, 3),
        "train_loss": _rounded(last_eval[1]),
        "val_loss": _rounded(last_eval[2]),
        "tokens_per_second": round((trainer.tokens_seen - tokens_before) / wall, 1) if wall > 0 else None,
        "stopped_because": stopped_because,
        "processes": trainer.world_size,
        "parameters": trainer.model.num_params(),
        "out": str(out) if out else None,
    }


def progress_bar(total_steps: int, steps_done: int) -> tqdm:
    """tqdm's bar on stderr: redrawn in place on a terminal, a line every 10 s into a log file."""
    interval = 0.1 if sys.stderr.isatty() else 10.0
    return tqdm(
        total=total_steps,
        initial=steps_done,
        unit="step",
        desc="training",
        file=sys.stderr,
        mininterval=interval,
        dynamic_ncols=True,
    )


def show_progress(bar: tqdm, record, last_eval, tokens: int, seconds: float) -> None:
    """Move the bar to this step and show the loss, the last validation loss and the speed beside it."""
    values = {"loss": f"{record.loss:.4f}"}
    if last_eval is not None and last_eval[2] is not None:
        values["val"] = f"{last_eval[2]:.4f}"
    if seconds > 0:
        values["tokens/s"] = f"{tokens / seconds:,.0f}"
    bar.set_postfix(values, refresh=False)  # drawn with the next update, at most every mininterval
    bar.update(record.step - bar.n)


def _rounded(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 6)


def _say(trainer: Trainer, text: str) -> None:
    if trainer.is_main:
        print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.out is None and args.resume is None:
        print("note: no --out folder given, so the trained model will not be saved.", file=sys.stderr)
    distributed.start_from_environment()
    is_main = distributed.rank() == 0
    try:
        summary = train(args)
    except (ValueError, OSError) as error:  # a setting or file the user can fix
        if is_main:
            print(f"error: {error}", file=sys.stderr)
        return 2
    except MemoryError:  # every size the files declare is checked first; this is what is left
        if is_main:
            print(
                "error: this computer ran out of memory; train a smaller model, on less text, or with a smaller "
                "--batch-size, and close other programs.",
                file=sys.stderr,
            )
        return 2
    finally:
        distributed.finish()
    if is_main:
        print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
