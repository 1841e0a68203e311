"""Tiny runs shared by the training tests: a few thousand characters and a 2-layer, 32-wide model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.model.config import preset
from core.training.dataset import TokenDataset
from core.model.model import GPT
from core.tokenizers import CharTokenizer
from core.training.trainer import Trainer, TrainConfig

# Text with structure to learn: every line repeats its word, so the repeat is predictable.
WORDS = ("query key value head attention token layer block embed train loss step batch model").split()
TEXT = "".join(f"{w} {w} {WORDS[(i * 7) % len(WORDS)]}.\n" for i, w in enumerate(WORDS * 20))

TINY = TrainConfig(
    learning_rate=1e-2,
    min_lr=1e-3,
    warmup_steps=2,
    max_steps=40,
    batch_size=4,
    context_length=16,
    eval_interval=0,
    eval_batches=2,
    sample_interval=0,
    sample_length=12,
    snapshot_interval=0,
    seed=7,
)


def tiny_tokenizer() -> CharTokenizer:
    return CharTokenizer.from_text(TEXT)


def tiny_dataset() -> TokenDataset:
    return TokenDataset(np.array(tiny_tokenizer().encode(TEXT), dtype=np.uint16), val_fraction=0.1)


def tiny_model(seed: int = 0, **changes) -> GPT:
    torch.manual_seed(seed)
    return GPT(preset("nano", vocab_size=tiny_tokenizer().vocab_size, context_length=16, **changes))


def tiny_trainer(model_seed: int = 0, model_changes: dict | None = None, **config_changes) -> Trainer:
    from dataclasses import replace

    config = replace(TINY, **config_changes)
    return Trainer(tiny_model(model_seed, **(model_changes or {})), tiny_dataset(), config, tiny_tokenizer())


@pytest.fixture
def one_thread():
    """Tiny models run fastest on one thread (and a shared, busy machine punishes two far more)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
