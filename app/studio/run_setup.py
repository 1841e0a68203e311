"""A training run, written down: what text, which tokenizer, what model, which hyperparameters.

No Qt here. The studio's set-up panel fills a RunSetup; `prepare_run` turns it into a ready Trainer:

    text -> tokenizer (char, or BPE trained on the text) -> token ids -> TokenDataset -> GPT -> Trainer

A run may instead start from the model on screen (start_from="screen"): a copy of it is trained, with
its own tokenizer and architecture, so the explorer's model is never changed (core/training/finetune.py).

Every mistake a user can make (file not UTF-8, corpus too short for the context, sizes that do not
fit) raises ValueError with a sentence that says what to change, before anything is started.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from core.model.config import PRESETS, GPTConfig
from core.training.corpora import BUILTIN_CORPORA, check_corpus_length, encode_text, load_builtin, read_text_file
from core.training.dataset import TokenDataset
from core.teaching.detectors import induction_probe
from core.training.finetune import check_training_fits, trainable_copy, training_context_length
from core.model.model import GPT
from core.training.synthetic import SYNTHETIC_TASKS
from core.tokenizers import BPETokenizer, CharTokenizer
from core.training.trainer import Trainer, TrainConfig

CORPUS_KINDS = ("builtin", "synthetic", "file")
STARTS = ("new", "screen")
TOKENIZER_KINDS = ("char", "bpe")
CUSTOM_SIZES = "custom"
SYNTHETIC_EXAMPLES = 4000   # lines of a synthetic task: plenty of windows, generated in well under a second
PROBE_TOKENS = 48           # the probe prompt is cut to about this many tokens (or the context, if shorter)


@dataclass(frozen=True)
class RunSetup:
    # -- the text
    corpus_kind: str = "synthetic"       # "builtin", "synthetic" (a task with a known answer) or "file"
    corpus_name: str = "previous-token"  # built-in corpus name, synthetic task name, or a file path
    task_length: int = 0                 # synthetic tasks: random letters per example (0 = the task's default)
    # -- the tokenizer
    tokenizer: str = "char"              # "char": one token per character; "bpe": byte-pair merges learned here
    bpe_vocab_size: int = 320            # BPE only: 256 byte tokens + this many minus 256 merges
    # -- the model
    start_from: str = "new"              # "new": random weights of the sizes below; "screen": fine-tune a copy
                                         # of the explorer's model (its tokenizer and sizes, not the ones here)
    model_preset: str = "nano"           # a name from core.model.config.PRESETS, or "custom" for the sizes below
    n_layers: int = 2                    # transformer blocks (used when model_preset is "custom")
    n_heads: int = 2                     # heads per block (custom)
    d_model: int = 32                    # vector width (custom)
    pos_encoding: str = "rope"           # "learned", "sinusoidal", "rope" or "none"
    dropout: float = 0.0                 # dropout while training (0 = off)
    # -- the optimisation
    learning_rate: float = 3e-3          # peak learning rate after warmup
    batch_size: int = 32                 # context windows per step
    context_length: int = 32             # tokens per window (also the model's context length)
    max_steps: int = 600                 # length of the learning-rate schedule, and of "Play"
    warmup_steps: int = 30               # steps of linear warmup
    final_lr_fraction: float = 0.1       # the cosine decay ends at this share of the learning rate (1 = no decay)
    weight_decay: float = 0.0            # AdamW's pull of weight matrices towards zero
    grad_clip: float = 1.0               # gradients longer than this are shortened (0 = never)
    seed: int = 0                        # same seed, same initial weights and batches: the same run
    val_fraction: float = 0.1            # share of the text held out to measure validation loss
    eval_interval: int = 50              # measure validation loss every N steps
    sample_interval: int = 100           # write a text sample every N steps

    def __post_init__(self) -> None:
        if self.corpus_kind not in CORPUS_KINDS:
            raise ValueError(f"Unknown corpus kind {self.corpus_kind!r}; use one of {', '.join(CORPUS_KINDS)}.")
        if self.tokenizer not in TOKENIZER_KINDS:
            raise ValueError(f"Unknown tokenizer {self.tokenizer!r}; use 'char' or 'bpe'.")
        if self.start_from not in STARTS:
            raise ValueError(f"Unknown start {self.start_from!r}; use 'new' (random weights) or 'screen'.")
        if self.model_preset != CUSTOM_SIZES and self.model_preset not in PRESETS:
            raise ValueError(f"Unknown preset {self.model_preset!r}; choose one of {', '.join(PRESETS)} or 'custom'.")

    # -- the pieces it describes -----------------------------------------------------------------
    def model_config(self, vocab_size: int) -> GPTConfig:
        sizes = PRESETS[self.model_preset] if self.model_preset != CUSTOM_SIZES else dict(
            n_layers=self.n_layers, n_heads=self.n_heads, d_model=self.d_model)
        return GPTConfig(vocab_size=vocab_size, context_length=self.context_length, pos_encoding=self.pos_encoding,
                         dropout=self.dropout, **sizes)

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            learning_rate=self.learning_rate, min_lr=self.learning_rate * self.final_lr_fraction,
            warmup_steps=self.warmup_steps,
            max_steps=self.max_steps, batch_size=self.batch_size, context_length=self.context_length,
            weight_decay=self.weight_decay, grad_clip=self.grad_clip, eval_interval=self.eval_interval, eval_batches=4,
            sample_interval=self.sample_interval, sample_length=80,
            # A copy of the weights every 25 steps is what a divergence rolls back to.
            snapshot_interval=25, seed=self.seed, device="cpu",
        )

    def describe_corpus(self) -> str:
        if self.corpus_kind == "file":
            return f"file {Path(self.corpus_name).name}"
        return f"{'task' if self.corpus_kind == 'synthetic' else 'built-in'} “{self.corpus_name}”"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "RunSetup":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown run settings: {', '.join(sorted(unknown))}.")
        return cls(**values)

    def with_changes(self, **changes) -> "RunSetup":
        return replace(self, **changes)


# Settings that make a task's circuit form quickly, applied when the task is picked. The induction head
# needs a wider model and bigger batches than the default run, and no gradient clipping: with these it
# forms around step 300 (see tests/core/test_induction_forms.py, which trains exactly this recipe).
TASK_RECIPES: dict[str, dict] = {
    "induction": dict(task_length=14, model_preset=CUSTOM_SIZES, n_layers=2, n_heads=2, d_model=64,
                      pos_encoding="rope", batch_size=64, context_length=32, learning_rate=3e-3, warmup_steps=30,
                      max_steps=700, final_lr_fraction=1.0, weight_decay=0.0, grad_clip=0.0),
}


def with_task_recipe(setup: RunSetup) -> RunSetup:
    """The setup with its task's recommended settings (unchanged for texts and tasks without one)."""
    if setup.corpus_kind != "synthetic" or setup.corpus_name not in TASK_RECIPES:
        return setup
    return setup.with_changes(**TASK_RECIPES[setup.corpus_name])


# -- text -------------------------------------------------------------------------------------------
def load_corpus_text(setup: RunSetup) -> str:
    """The training text. CorpusError (a ValueError) for a file that is missing, unreadable or not UTF-8."""
    if setup.corpus_kind == "builtin":
        return load_builtin(setup.corpus_name)
    if setup.corpus_kind == "synthetic":
        if setup.corpus_name not in SYNTHETIC_TASKS:
            raise ValueError(f"There is no synthetic task {setup.corpus_name!r}; choose one of "
                             f"{', '.join(SYNTHETIC_TASKS)}.")
        return SYNTHETIC_TASKS[setup.corpus_name].generate_text(SYNTHETIC_EXAMPLES, seed=setup.seed,
                                                                length=setup.task_length or None)
    return read_text_file(setup.corpus_name)


def corpus_choices() -> list[tuple[str, str, str]]:
    """(kind, name, one-line explanation) for every built-in corpus and synthetic task."""
    choices = [("builtin", name, about) for name, about in BUILTIN_CORPORA.items()]
    for name, task in SYNTHETIC_TASKS.items():
        choices.append(("synthetic", name, f"{task.description} {task.attention_hint}"))
    return choices


# -- tokenizer ----------------------------------------------------------------------------------------
ProgressCallback = Callable[[int, int], None]


def build_tokenizer(setup: RunSetup, text: str, progress: ProgressCallback | None = None):
    """A character tokenizer over the text's characters, or BPE trained on the text."""
    if setup.tokenizer == "char":
        if setup.corpus_kind == "synthetic":  # the task's whole alphabet, so every probe can be typed
            return CharTokenizer("".join(sorted(SYNTHETIC_TASKS[setup.corpus_name].symbols)))
        return CharTokenizer.from_text(text)
    return BPETokenizer.train(text, setup.bpe_vocab_size, progress=progress)


# -- the run ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StartingModel:
    """The model a fine-tuning run starts from (a copy is trained; this one is never changed)."""

    model: GPT         # the trained model shown in the explorer
    tokenizer: object  # its tokenizer: the corpus is cut into these tokens
    source: str        # where it came from, in words ("GPT-2 small", "checkpoint runs/notes")
    owner: object = None  # what holds the model in the explorer (its session), kept alive with it: a
                          # training run's pictures recycle a model once nothing holds its session


@dataclass
class PreparedRun:
    setup: RunSetup
    text: str                    # the training text
    tokenizer: object            # core.tokenizers.Tokenizer
    tokens: np.ndarray           # the text as token ids
    trainer: Trainer             # ready to step; owns the model
    probe_prompt: str            # the prompt the explorer shows while training
    detector_probe: torch.Tensor  # (B, 2L) repeated random tokens, for the induction detector
    start: StartingModel | None = None  # what a fine-tune started from (Reset starts from it again)

    @property
    def model(self) -> GPT:
        return self.trainer.model


def tokenize_corpus(setup: RunSetup, text: str, tokenizer) -> TokenDataset:
    """Token ids of the text, checked long enough for one context window in each split."""
    tokens = encode_text(text, tokenizer)
    check_corpus_length(len(tokens), setup.context_length)
    dataset = TokenDataset(tokens, setup.val_fraction)
    n_val = len(dataset.val)
    if n_val and n_val < setup.context_length + 1:  # too little held out for one window: no validation then
        dataset = TokenDataset(tokens, 0.0)
    check_corpus_length(len(dataset.train), setup.context_length)
    return dataset


def build_model(setup: RunSetup, vocab_size: int) -> GPT:
    torch.manual_seed(setup.seed)  # the same seed gives the same starting weights
    return GPT(setup.model_config(vocab_size))


def prepare_run(setup: RunSetup, text: str | None = None, tokenizer=None,
                progress: ProgressCallback | None = None, start: StartingModel | None = None) -> PreparedRun:
    """Everything needed to train, checked. `text`/`tokenizer` may be passed in to reuse them;
    `start` is the model a start_from="screen" run fine-tunes a copy of."""
    text = load_corpus_text(setup) if text is None else text
    if not text:
        raise ValueError("The corpus is empty: there is no text to learn from. Pick another text.")
    if setup.start_from == "screen":
        setup = setup_for_finetuning(setup, start)
        tokenizer = start.tokenizer  # the model's embedding rows mean its own tokens
    else:
        start = None
        tokenizer = tokenizer or build_tokenizer(setup, text, progress)
    dataset = tokenize_corpus(setup, text, tokenizer)
    # The copy is made only now, once the text is known to be usable.
    model = trainable_copy(start.model) if start else build_model(setup, tokenizer.vocab_size)
    trainer = Trainer(model, dataset, setup.train_config(), tokenizer)
    return PreparedRun(setup, text, tokenizer, np.asarray(dataset.train), trainer,
                       probe_prompt_for(setup, text, tokenizer), detector_probe_for(dataset, tokenizer, setup), start)


def setup_for_finetuning(setup: RunSetup, start: StartingModel | None) -> RunSetup:
    """The setup with windows the model can read; a sentence if there is no model or its training will not fit."""
    if start is None:
        raise ValueError("There is no model on screen to start from; open one first, or choose a new model.")
    check_training_fits(start.model, start.source, weights_loaded=False)
    return setup.with_changes(context_length=training_context_length(start.model, setup.context_length))


def probe_prompt_for(setup: RunSetup, text: str, tokenizer) -> str:
    """A prompt that shows the run's attention: one task example, or the start of the held-out text."""
    limit = min(PROBE_TOKENS, setup.context_length)
    if setup.corpus_kind == "synthetic":
        task = SYNTHETIC_TASKS[setup.corpus_name]
        lines = task.generate_text(4, seed=setup.seed + 7919, length=setup.task_length or None)  # unseen examples
        return _cut_to_tokens(lines, tokenizer, limit, whole_lines=True)
    start = int(len(text) * (1 - setup.val_fraction))
    return _cut_to_tokens(text[start:start + 4 * limit] or text[: 4 * limit], tokenizer, limit)


def _cut_to_tokens(text: str, tokenizer, limit: int, whole_lines: bool = False) -> str:
    """The longest start of `text` within `limit` tokens (ending at a line or word end if possible)."""
    ids = tokenizer.encode(text)[:limit]
    cut = tokenizer.decode(ids)
    if whole_lines and "\n" in cut:
        return cut[: cut.rfind("\n") + 1]
    if " " in cut.strip():
        return cut[: cut.rstrip().rfind(" ")]
    return cut


def detector_probe_for(dataset: TokenDataset, tokenizer, setup: RunSetup, batch: int = 4) -> torch.Tensor:
    """Repeated random sequences of tokens the corpus uses (not spaces or line breaks), for the induction score."""
    used, counts = np.unique(np.asarray(dataset.train), return_counts=True)
    visible = [int(t) for t in used[np.argsort(-counts)] if tokenizer.decode([int(t)]).strip()]
    pool = visible[:64] or [int(t) for t in used]
    length = max(2, min(setup.context_length // 2, len(pool), 10))
    return induction_probe(tokenizer.vocab_size, length, seed=setup.seed, batch=batch, token_ids=pool)
