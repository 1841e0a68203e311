"""Snapshots for the view tests, made straight from a small GPT and a word tokenizer written here."""

from __future__ import annotations

import re

import numpy as np
import torch

from app.state.snapshot import Snapshot
from core.teaching.analysis import pca_2d
from core.model.config import GPTConfig
from core.model.model import GPT
from core.model.trace import Intervention

PROMPT = "The cat sat on the mat. The dog sat on the log. The cat"


def words(text: str) -> list[str]:
    """A simple tokenizer: each word with the space before it is one token."""
    return re.findall(r" ?[^ ]+", text)


def make_snapshot(
    text: str = PROMPT,
    pos_encoding: str = "learned",
    n_layers: int = 2,
    n_heads: int = 2,
    d_model: int = 32,
    context_length: int = 64,
    seed: int = 0,
    vocab_size: int = 48,
    projection: bool = True,
    intervention: Intervention | None = None,
    config_changes: dict | None = None,
) -> Snapshot:
    tokens = words(text)
    vocabulary = sorted(set(tokens))
    vocabulary += [f"w{i}" for i in range(vocab_size - len(vocabulary))]  # unused words fill the rest
    torch.manual_seed(seed)
    config = GPTConfig(
        vocab_size=len(vocabulary),
        context_length=context_length,
        d_model=d_model,
        n_layers=n_layers,
        n_heads=n_heads,
        pos_encoding=pos_encoding,
        **(config_changes or {}),
    )
    model = GPT(config)
    ids = [vocabulary.index(token) for token in tokens][-context_length:]
    embeddings = model.transformer.wte.weight.detach().numpy().copy()  # (vocab, d_model)
    embeddings.setflags(write=False)
    labels = tuple(token.replace(" ", "␣") for token in vocabulary)
    return Snapshot(
        trace=model.trace(ids, intervention=intervention),
        token_labels=tuple(labels[i] for i in ids),
        config=config,
        vocab_embeddings=embeddings,
        vocab_labels=labels,
        vocab_projection=pca_2d(embeddings) if projection else None,
    )


def token_ids(snapshot: Snapshot) -> list[int]:
    return [int(i) for i in np.asarray(snapshot.trace.ids[0])]
