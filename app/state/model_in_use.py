"""Which model the explorer shows: a model, its tokenizer, and where they came from.

Each way of getting a model (the default one, a checkpoint, a GPT-2 folder, a fresh untrained one)
is one small function returning a ModelInUse, or raising ValueError with a sentence for the user.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core import GPT, GPTConfig, preset
from core.teaching.analysis import pca_2d
from core.model.param_count import human_count
from core.files.shipped_models import CHARACTER_MODEL_FOLDER, DEFAULT_MODEL_FOLDER, LEARNED_POSITIONS_MODEL_FOLDER

FALLBACK_PROMPT = "The cat sat on the mat. The cat"


@dataclass(frozen=True)
class Vocabulary:
    """Everything about the vocabulary the views need, computed once per model."""

    labels: tuple[str, ...]  # a readable label per token id
    embeddings: np.ndarray  # (vocab, d_model) read-only copy of the token-embedding matrix
    projection: np.ndarray  # (vocab, 2) PCA of the embeddings


@dataclass(eq=False)
class ModelInUse:
    """A model shown in the window. The model's weights are not changed while it is shown."""

    model: GPT  # the network, in eval mode
    tokenizer: object  # core.tokenizers.Tokenizer: text <-> ids
    source: str  # where it came from, in words, for the status bar
    trained: bool = True  # False for freshly initialised weights (the status bar says so)
    step: int | None = None  # training step of the weights, when known
    path: str | None = None  # folder it was loaded from, if any
    _vocabulary: Vocabulary | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def config(self) -> GPTConfig:
        return self.model.config

    def vocabulary(self) -> Vocabulary:
        """Labels, embeddings and their PCA, made on first use (off the GUI thread) and then kept."""
        with self._lock:
            if self._vocabulary is None:
                self._vocabulary = _make_vocabulary(self.model, self.tokenizer)
            return self._vocabulary

    def describe(self) -> str:
        """One line for the status bar: what model, how big, its architecture's choices, trained or not."""
        from core.model.model_card import model_card

        config = self.config
        size = f"{config.n_layers} layers × {config.n_heads} heads, d_model {config.d_model}"
        size += f" · {model_card(config).summary()}"
        params = human_count(self.model.num_params())
        if self.step:
            state = f"trained {self.step} steps"
        else:
            state = "trained" if self.trained else "UNTRAINED (random weights)"
        return f"{self.source} · {size} · {params} parameters · {state}"


def _make_vocabulary(model: GPT, tokenizer) -> Vocabulary:
    vocab_size = model.config.vocab_size
    labels = tuple(_label(tokenizer, token_id) for token_id in range(vocab_size))
    embeddings = model.transformer.wte.weight.detach().float().cpu().numpy().copy()  # (vocab, d_model)
    embeddings.setflags(write=False)
    return Vocabulary(labels, embeddings, _projection(embeddings))


def _label(tokenizer, token_id: int) -> str:
    """The tokenizer's label; ids the model has beyond the tokenizer's vocabulary get '<id>'."""
    if token_id < tokenizer.vocab_size:
        return tokenizer.token_label(token_id)
    return f"<{token_id}>"


def _projection(embeddings: np.ndarray) -> np.ndarray:
    projection = pca_2d(embeddings)  # (vocab, 2)
    projection.setflags(write=False)
    return projection


# -- ways of getting a model ------------------------------------------------------------------------
def load_checkpoint_model(folder: str | Path, source: str | None = None) -> ModelInUse:
    """A model saved by Attention Lab (raises ValueError if the folder is not a usable checkpoint)."""
    from core.files.checkpoint import load_checkpoint

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder. A checkpoint is a folder holding the model's files.")
    checkpoint = load_checkpoint(folder)
    model = checkpoint.model.eval()
    return ModelInUse(
        model,
        checkpoint.tokenizer,
        source or f"checkpoint “{folder.name}”",
        trained=bool(checkpoint.step),
        step=checkpoint.step or None,
        path=str(folder),
    )


def load_character_model(folder: Path = CHARACTER_MODEL_FOLDER) -> ModelInUse:
    """The second built-in model: one token per character, trained on Python's help pages."""
    return load_checkpoint_model(folder, source="character model (Python docs)")


def load_learned_positions_model(folder: Path = LEARNED_POSITIONS_MODEL_FOLDER) -> ModelInUse:
    """The third built-in model: the story model with learned positions added to the tokens."""
    return load_checkpoint_model(folder, source="story model with learned positions")


def load_gpt2_model(folder: str | Path) -> ModelInUse:
    """GPT-2 weights from a local Hugging Face folder (raises ValueError naming a missing file)."""
    from core.files.gpt2 import load_gpt2

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder. Choose the folder that holds GPT-2's files.")
    model, tokenizer = load_gpt2(folder)
    return ModelInUse(model.eval(), tokenizer, f"GPT-2 “{folder.name}”", trained=True, path=str(folder))


def load_hub_model(name: str) -> ModelInUse:
    """A Hugging Face model: a Hub id found in the cache (never downloaded here), or a local folder."""
    from core.files.hub import open_model

    model, tokenizer, folder = open_model(name)
    local = Path(name).expanduser().exists()
    source = f"“{folder.name}” (Hugging Face folder)" if local else f"{name} (Hugging Face)"
    return ModelInUse(model.eval(), tokenizer, source, trained=True, path=str(folder))


def new_untrained_model(config: GPTConfig, tokenizer, seed: int = 0) -> ModelInUse:
    """Freshly initialised weights: the model before any training."""
    if config.vocab_size != tokenizer.vocab_size:
        config = config.with_changes(vocab_size=tokenizer.vocab_size)
    torch.manual_seed(seed)
    model = GPT(config).eval()
    return ModelInUse(model, tokenizer, "new model", trained=False)


def lessons_tokenizer():
    """A character tokenizer over the built-in lesson text (the fallback when nothing is trained)."""
    from core.training.corpora import load_builtin
    from core.tokenizers import CharTokenizer

    return CharTokenizer.from_text(load_builtin("lessons"))


def default_model(folder: Path | None = None) -> tuple[ModelInUse, str]:
    """(model, notice): the shipped pretrained model, or an untrained 'nano' one if it is missing or broken.
    `folder`: where to look (None: DEFAULT_MODEL_FOLDER, read when called, so a test can point it elsewhere)."""
    folder = Path(DEFAULT_MODEL_FOLDER if folder is None else folder)
    if folder.is_dir() and any(folder.iterdir()):
        try:
            return load_checkpoint_model(folder, source="default model"), ""
        except ValueError as error:
            notice = f"The default model could not be loaded ({error}); showing an untrained model instead."
    else:
        notice = "No pretrained model is installed yet; showing an UNTRAINED model (random weights)."
    tokenizer = lessons_tokenizer()
    return new_untrained_model(preset("nano", vocab_size=tokenizer.vocab_size), tokenizer), notice


def sample_prompts() -> list[str]:
    """Prompts that teach something on the default model."""
    from core.training.corpora import sample_prompts as core_prompts

    return list(core_prompts()) or [FALLBACK_PROMPT]
