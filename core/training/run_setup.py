"""A training run, written down: what text, which tokenizer, what model, which hyperparameters.

One frozen dataclass, filled by the studio's set-up panel or by the command line's arguments, saved
as JSON beside a studio run (studio.json) and read back with `RunSetup.from_dict`, which checks the
type of every value, so a damaged or hand-edited file is refused with a sentence, not a crash later.
`core/training/recipe.py` turns a RunSetup into a ready Trainer.
"""

from __future__ import annotations

import math
import typing
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from core.model.config import ACTIVATIONS, POSITIONAL_ENCODINGS, PRESETS, GPTConfig
from core.training.corpora import STORY_COUNT
from core.training.schedule import LR_DECAYS
from core.training.train_config import OPTIMIZERS, TrainConfig

CORPUS_KINDS = ("builtin", "synthetic", "file")
STARTS = ("new", "screen")
POSITION_STARTS = ("random", "sinusoidal")
TOKENIZER_KINDS = ("char", "bpe")
CUSTOM_SIZES = "custom"


@dataclass(frozen=True)
class RunSetup:
    # -- the text
    corpus_kind: str = "synthetic"  # "builtin", "synthetic" (a task with a known answer) or "file"
    corpus_name: str = "previous-token"  # built-in corpus name, synthetic task name, or a file path
    task_length: int = 0  # synthetic tasks: random letters per example (0 = the task's default)
    synthetic_examples: int = 4000  # synthetic tasks: example lines (plenty of windows, made in < 1 s)
    stories: int = STORY_COUNT  # the built-in "stories" corpus: how many stories to write (seeded)
    val_fraction: float = 0.1  # share of the text held out to measure validation loss
    # -- the tokenizer
    tokenizer: str = "char"  # "char": one token per character; "bpe": byte-pair merges learned here
    bpe_vocab_size: int = 320  # BPE only: 256 byte tokens + this many minus 256 merges
    # -- the model
    start_from: str = "new"  # "new": random weights of the sizes below; "screen": fine-tune a copy
    # of the explorer's model (its tokenizer and sizes, not the ones here)
    model_preset: str = "nano"  # a name from core.model.config.PRESETS, or "custom" for the sizes below
    n_layers: int = 2  # transformer blocks (used when model_preset is "custom")
    n_heads: int = 2  # heads per block (custom)
    d_model: int = 32  # vector width (custom)
    d_mlp: int = 0  # hidden width of each MLP (custom; 0 = 4 x d_model)
    pos_encoding: str = "rope"  # "learned", "sinusoidal", "rope" or "none"
    activation: str = GPTConfig().activation  # the MLP's GELU: "gelu_tanh" (GPT-2's) or "gelu" (exact)
    position_start: str = "random"  # learned positions only: start them "random" or as "sinusoidal" waves
    dropout: float = 0.0  # dropout while training (0 = off)
    # -- the optimisation
    learning_rate: float = 3e-3  # peak learning rate after warmup
    batch_size: int = 32  # context windows per step
    context_length: int = 32  # tokens per window (also the model's context length)
    max_steps: int = 600  # length of the learning-rate schedule, and of "Play"
    warmup_steps: int = 30  # steps of linear warmup
    final_lr_fraction: float = 0.1  # the decay ends at this share of the learning rate (1 = no decay)
    lr_decay: str = "cosine"  # the decay's shape: "cosine" or "linear"
    weight_decay: float = 0.0  # AdamW's pull of weight matrices towards zero
    beta1: float = TrainConfig().beta1  # AdamW's memory of past gradients (momentum)
    beta2: float = TrainConfig().beta2  # AdamW's memory of past squared gradients
    grad_clip: float = 1.0  # gradients longer than this are shortened (0 = never)
    optimizer: str = "adamw"  # "adamw", or "muon" for the blocks' weight matrices (core/training/muon.py)
    seed: int = 0  # same seed, same initial weights and batches: the same run
    # -- what is measured and kept along the way
    eval_interval: int = 50  # measure validation loss every N steps
    eval_batches: int = 4  # batches averaged for each of those measurements
    sample_interval: int = 100  # write a text sample every N steps
    sample_length: int = 80  # tokens in each sample
    snapshot_interval: int = 25  # keep a copy of the weights every N steps (what a divergence rolls back to)
    device: str = "cpu"  # "cpu", "cuda", "cuda:N", "mps" or "auto" (the studio trains on the CPU)
    bf16: bool = False  # bfloat16 autocast
    fast_step: bool = False  # True: no per-part records, fused AdamW (the command line; see TrainConfig)

    def __post_init__(self) -> None:
        if self.corpus_kind not in CORPUS_KINDS:
            raise ValueError(f"Unknown corpus kind {self.corpus_kind!r}; use one of {', '.join(CORPUS_KINDS)}.")
        if self.tokenizer not in TOKENIZER_KINDS:
            raise ValueError(f"Unknown tokenizer {self.tokenizer!r}; use 'char' or 'bpe'.")
        if self.start_from not in STARTS:
            raise ValueError(f"Unknown start {self.start_from!r}; use 'new' (random weights) or 'screen'.")
        if self.model_preset != CUSTOM_SIZES and self.model_preset not in PRESETS:
            raise ValueError(f"Unknown preset {self.model_preset!r}; choose one of {', '.join(PRESETS)} or 'custom'.")
        if self.pos_encoding not in POSITIONAL_ENCODINGS:
            raise ValueError(
                f"Unknown positional encoding {self.pos_encoding!r}; use one of {', '.join(POSITIONAL_ENCODINGS)}."
            )
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"Unknown learning-rate decay {self.lr_decay!r}; use one of {', '.join(LR_DECAYS)}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {self.optimizer!r}; use one of {', '.join(OPTIMIZERS)}.")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {self.activation!r}; use one of {', '.join(ACTIVATIONS)}.")
        if self.position_start not in POSITION_STARTS:
            raise ValueError(f"Unknown position start {self.position_start!r}; use 'random' or 'sinusoidal'.")
        if self.position_start == "sinusoidal" and self.pos_encoding != "learned":
            raise ValueError(
                "Only learned positions can start as sinusoidal waves; the other schemes have no table to learn."
            )

    # -- the pieces it describes -----------------------------------------------------------------
    def model_config(self, vocab_size: int) -> GPTConfig:
        sizes = (
            PRESETS[self.model_preset]
            if self.model_preset != CUSTOM_SIZES
            else dict(n_layers=self.n_layers, n_heads=self.n_heads, d_model=self.d_model, d_mlp=self.d_mlp or None)
        )
        return GPTConfig(
            vocab_size=vocab_size,
            context_length=self.context_length,
            pos_encoding=self.pos_encoding,
            activation=self.activation,
            dropout=self.dropout,
            **sizes,
        )

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            learning_rate=self.learning_rate,
            min_lr=self.learning_rate * self.final_lr_fraction,
            lr_decay=self.lr_decay,
            warmup_steps=self.warmup_steps,
            max_steps=self.max_steps,
            batch_size=self.batch_size,
            context_length=self.context_length,
            weight_decay=self.weight_decay,
            beta1=self.beta1,
            beta2=self.beta2,
            grad_clip=self.grad_clip,
            optimizer=self.optimizer,
            eval_interval=self.eval_interval,
            eval_batches=self.eval_batches,
            sample_interval=self.sample_interval,
            sample_length=self.sample_length,
            snapshot_interval=self.snapshot_interval,
            seed=self.seed,
            device=self.device,
            bf16=self.bf16,
            fast_step=self.fast_step,
        )

    def describe_corpus(self) -> str:
        if self.corpus_kind == "file":
            return f"file {Path(self.corpus_name).name}"
        return f"{'task' if self.corpus_kind == 'synthetic' else 'built-in'} “{self.corpus_name}”"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> RunSetup:
        """A RunSetup from saved values (missing ones take their defaults); ValueError with a sentence for an
        unknown name or a value of the wrong type ("batch_size must be a whole number, but it is '32'.")."""
        if not isinstance(values, dict):
            raise ValueError(f"The run settings must be a table of names and values, but they are {values!r}.")
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown run settings: {', '.join(sorted(unknown))}.")
        return cls(**{name: _checked(name, value) for name, value in values.items()})

    def with_changes(self, **changes) -> RunSetup:
        return replace(self, **changes)


_FIELD_TYPES = typing.get_type_hints(RunSetup)
_KIND_IN_WORDS = {str: "a text", int: "a whole number", float: "a number", bool: "true or false"}


def _checked(name: str, value):
    """The value if it has the field's type (an int is taken as a float); ValueError naming the field if not."""
    wanted = _FIELD_TYPES[name]
    if wanted is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    fits = isinstance(value, wanted) and (wanted is bool or not isinstance(value, bool))
    if fits and wanted is float and not math.isfinite(value):
        fits = False
    if not fits:
        raise ValueError(f"The run setting {name} must be {_KIND_IN_WORDS[wanted]}, but it is {value!r}.")
    return value


# Settings that make a task's circuit form quickly, applied when the task is picked. The induction head
# needs a wider model and bigger batches than the default run, and no gradient clipping: with these it
# forms around step 300 (tests/core/test_induction_forms.py trains exactly this recipe).
TASK_RECIPES: dict[str, dict] = {
    "induction": dict(
        task_length=14,
        model_preset=CUSTOM_SIZES,
        n_layers=2,
        n_heads=2,
        d_model=64,
        pos_encoding="rope",
        batch_size=64,
        context_length=32,
        learning_rate=3e-3,
        warmup_steps=30,
        max_steps=700,
        final_lr_fraction=1.0,
        weight_decay=0.0,
        grad_clip=0.0,
    )
}


def with_task_recipe(setup: RunSetup) -> RunSetup:
    """The setup with its task's recommended settings (unchanged for texts and tasks without one)."""
    if setup.corpus_kind != "synthetic" or setup.corpus_name not in TASK_RECIPES:
        return setup
    return setup.with_changes(**TASK_RECIPES[setup.corpus_name])
