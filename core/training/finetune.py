"""Fine-tuning: a training run that starts from a model that already knows something.

    model, tokenizer = load_model_to_finetune("~/models/SmolLM2-135M")  # a Hugging Face folder or our checkpoint
    check_training_fits(model, "SmolLM2-135M", weights_loaded=True)
    trainer = Trainer(model, TokenDataset(encode_text(text, tokenizer)), TrainConfig(context_length=64), tokenizer)

What a fresh run chooses, a fine-tune keeps: the model's architecture as it is, and its tokenizer (the
text is cut into the model's own tokens, since its embedding rows mean those tokens). Only the training
windows may be shorter than the context the model declares: a model made for 32,768 tokens learns
from 64-token windows as well, and in a fraction of the memory.
"""

from __future__ import annotations

from pathlib import Path

from core.files.checkpoint import META_FILE, load_checkpoint
from core.model.footprint import SPARE_FRACTION, available_memory_bytes
from core.model.model import GPT
from core.tokenizers.base import Tokenizer

# A pretrained model already sits near a good minimum: the learning rate that trains a fresh model fast
# (5e-3) would throw much of what it knows away in a few steps. 3e-4 is the usual fine-tuning rate.
FINETUNE_LEARNING_RATE = 3e-4

# What training holds, in copies of the float32 weights (core/training/trainer.py): the weights, their gradients,
# AdamW's two running averages (together the usual 4x), plus the copies our Trainer keeps to undo a bad
# step: the weights before each update, and the last good weights with their two AdamW averages.
TRAINING_COPIES_OF_WEIGHTS = 8


def load_model_to_finetune(folder: str | Path) -> tuple[GPT, Tokenizer]:
    """(model, tokenizer) from one of our checkpoint folders or a local Hugging Face model folder."""
    from core.files.pretrained import load_pretrained

    folder = Path(folder).expanduser()
    if (folder / META_FILE).is_file():
        checkpoint = load_checkpoint(folder)
        return checkpoint.model, checkpoint.tokenizer
    if folder.is_dir() and not (folder / "config.json").is_file():
        raise ValueError(
            f"{folder} holds neither a checkpoint of ours ({META_FILE}) nor a Hugging Face model "
            "(config.json); point --init-from at a model folder."
        )
    return load_pretrained(folder)


def training_bytes(model: GPT) -> int:
    """Memory a training run of this model holds (see TRAINING_COPIES_OF_WEIGHTS), in bytes."""
    return TRAINING_COPIES_OF_WEIGHTS * 4 * model.num_params()


def check_training_fits(model: GPT, what: str, weights_loaded: bool) -> None:
    """ValueError with a sentence when training `model` would not fit the memory free now.
    weights_loaded: the weights to train are already in memory (else a copy of them is made first)."""
    available = available_memory_bytes()
    weights = 4 * model.num_params()
    needed = training_bytes(model) - (weights if weights_loaded else 0)
    if available is not None and needed > available * (1 - SPARE_FRACTION):  # the same headroom as opening
        raise ValueError(
            f"Fine-tuning {what} needs about {_in_words(needed)} more memory ({TRAINING_COPIES_OF_WEIGHTS}x "
            f"its {_in_words(weights)} of float32 weights: the weights, their gradients, AdamW's two running "
            f"averages and the copies kept to undo a bad step), and only {_in_words(available)} is free. "
            "Close other programs, or fine-tune a smaller model."
        )


def _in_words(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:.1f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.1f} MiB"


def trainable_copy(model: GPT) -> GPT:
    """A copy of the model to train, so the original (shown in the explorer, say) never changes."""
    copy = GPT.unfilled(model.config)  # no random initialisation: every weight is overwritten next
    copy.load_state_dict(model.state_dict())
    return copy.train()


def training_context_length(model: GPT, wanted: int) -> int:
    """The training window: what was asked for, at most what the model can read."""
    return min(wanted, model.config.context_length)


__all__ = [
    "FINETUNE_LEARNING_RATE",
    "TRAINING_COPIES_OF_WEIGHTS",
    "check_training_fits",
    "load_model_to_finetune",
    "trainable_copy",
    "training_bytes",
    "training_context_length",
]
