"""The one recipe of a training run: settings -> text -> tokenizer -> data -> model -> Trainer.

    run = prepare_run(RunSetup(corpus_kind="builtin", corpus_name="lessons", model_preset="micro"))
    for record in run.trainer.run(100):
        print(record.step, record.loss)

The studio (its set-up panel fills a RunSetup) and the command line (core/training/train.py turns its
arguments into one) both build their runs here, so the same settings give the same run in either.

    text -> tokenizer (char, or BPE trained on the text) -> token ids -> TokenDataset -> GPT -> Trainer

A run may instead start from the model on screen (start_from="screen"): a copy of it is trained, with
its own tokenizer and architecture, so the explorer's model is never changed (core/training/finetune.py).

Every mistake a user can make (file not UTF-8, corpus too short for the context, sizes that do not
fit) raises ValueError with a sentence that says what to change, before anything is started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.model.model import GPT
from core.model.positional import sinusoidal_table
from core.teaching.detectors import induction_probe
from core.tokenizers import BPETokenizer, CharTokenizer
from core.training.corpora import BUILTIN_CORPORA, check_corpus_length, encode_text, load_builtin, read_text_file
from core.training.dataset import TokenDataset
from core.training.finetune import check_training_fits, trainable_copy, training_context_length
from core.training.run_setup import RunSetup
from core.training.synthetic import SYNTHETIC_TASKS
from core.training.trainer import Trainer

PROBE_TOKENS = 48  # the probe prompt is cut to about this many tokens (or the context, if shorter)


# -- text -------------------------------------------------------------------------------------------
def corpus_text(setup: RunSetup) -> str:
    """The training text. CorpusError (a ValueError) for a file that is missing, unreadable or not UTF-8."""
    if setup.corpus_kind == "builtin":
        return load_builtin(setup.corpus_name, n_stories=setup.stories, seed=setup.seed)
    if setup.corpus_kind == "synthetic":
        if setup.corpus_name not in SYNTHETIC_TASKS:
            raise ValueError(
                f"There is no synthetic task {setup.corpus_name!r}; choose one of {', '.join(SYNTHETIC_TASKS)}."
            )
        return SYNTHETIC_TASKS[setup.corpus_name].generate_text(
            setup.synthetic_examples, seed=setup.seed, length=setup.task_length or None
        )
    return read_text_file(setup.corpus_name)


def reads_the_same_text(old: RunSetup, new: RunSetup) -> bool:
    """Whether two setups read the same tokens (so a run's text and trained BPE can be reused for the other)."""
    keys = ("corpus_kind", "corpus_name", "tokenizer", "bpe_vocab_size", "task_length", "synthetic_examples")
    if not all(getattr(old, k) == getattr(new, k) for k in keys):
        return False
    if old.corpus_kind == "synthetic":  # examples drawn from the seed
        return old.seed == new.seed
    if old.corpus_kind == "builtin" and old.corpus_name == "stories":  # stories written from the seed
        return (old.seed, old.stories) == (new.seed, new.stories)
    return True


def corpus_kind_of(name: str) -> str:
    """What a corpus name given on the command line is: "builtin", "synthetic" or "file"."""
    if name in BUILTIN_CORPORA:
        return "builtin"
    if name in SYNTHETIC_TASKS:
        return "synthetic"
    if Path(name).exists():
        return "file"
    raise ValueError(
        f"{name!r} is neither a built-in corpus ({', '.join(BUILTIN_CORPORA)}), nor a synthetic task "
        f"({', '.join(SYNTHETIC_TASKS)}), nor a file that exists."
    )


def corpus_choices() -> list[tuple[str, str, str]]:
    """(kind, name, one-line explanation) for every built-in corpus and synthetic task."""
    choices = [("builtin", name, about) for name, about in BUILTIN_CORPORA.items()]
    for name, task in SYNTHETIC_TASKS.items():
        choices.append(("synthetic", name, f"{task.description} {task.attention_hint}"))
    return choices


# -- tokenizer ----------------------------------------------------------------------------------------
ProgressCallback = Callable[[int, int], None]


def build_tokenizer(setup: RunSetup, text: str, progress: ProgressCallback | None = None):
    """A character tokenizer over the text's characters, or BPE trained on the text (`progress(merges done,
    merges wanted)` is called while it learns). A synthetic task's char tokenizer knows the task's whole
    alphabet, so every probe a user types can be read, even letters this sample of the task never drew."""
    if setup.tokenizer == "char":
        alphabet = set(text)
        if setup.corpus_kind == "synthetic" and setup.corpus_name in SYNTHETIC_TASKS:
            alphabet |= set(SYNTHETIC_TASKS[setup.corpus_name].symbols)
        return CharTokenizer("".join(sorted(alphabet)))
    return BPETokenizer.train(text, setup.bpe_vocab_size, progress=progress)


# -- the run ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StartingModel:
    """The model a fine-tuning run starts from (a copy is trained; this one is never changed)."""

    model: GPT  # the trained model shown in the explorer
    tokenizer: object  # its tokenizer: the corpus is cut into these tokens
    source: str  # where it came from, in words ("GPT-2 small", "checkpoint runs/notes")
    owner: object = None  # what holds the model in the explorer (its session), kept alive with it: a
    # training run's pictures recycle a model once nothing holds its session


@dataclass
class PreparedRun:
    setup: RunSetup
    text: str  # the training text
    tokenizer: object  # core.tokenizers.Tokenizer
    tokens: np.ndarray  # the text as token ids
    trainer: Trainer  # ready to step; owns the model
    probe_prompt: str  # the prompt the explorer shows while training
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
    model = GPT(setup.model_config(vocab_size))
    if setup.position_start == "sinusoidal":
        start_positions_as_waves(model)
    return model


def start_positions_as_waves(model: GPT) -> None:
    """Learned position vectors that start as the original Transformer's sines and cosines.

    Random starting vectors say nothing about which positions are neighbours, and a head that looks
    exactly one token back must learn that from scratch. From waves, "one step back" is the same small
    turn of every sine/cosine pair at every position, a rule a query-key product can learn early.
    The vectors are still trained; the waves are only where they start. Scaled to the size of the
    token vectors (std 0.02), so neither drowns the other.
    """
    config = model.config
    waves = sinusoidal_table(config.context_length, config.d_model)  # (T, C), values in [-1, 1]
    with torch.no_grad():
        model.transformer.wpe.weight.copy_(waves * (0.02 / waves.std()))


def prepare_run(
    setup: RunSetup,
    text: str | None = None,
    tokenizer=None,
    progress: ProgressCallback | None = None,
    start: StartingModel | None = None,
) -> PreparedRun:
    """Everything needed to train, checked. `text`/`tokenizer` may be passed in to reuse them;
    `start` is the model a start_from="screen" run fine-tunes a copy of."""
    text = corpus_text(setup) if text is None else text
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
    return PreparedRun(
        setup,
        text,
        tokenizer,
        np.asarray(dataset.train),
        trainer,
        probe_prompt_for(setup, text, tokenizer),
        detector_probe_for(dataset, tokenizer, setup),
        start,
    )


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
    return _cut_to_tokens(text[start : start + 4 * limit] or text[: 4 * limit], tokenizer, limit)


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
