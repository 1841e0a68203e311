"""What every view draws from: one immutable snapshot of the model reading the current prompt.

The controller makes a Snapshot off the GUI thread and emits it once; each visible view redraws
from it. Views never call the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.model.config import GPTConfig
from core.model.trace import Trace


@dataclass(frozen=True)
class Snapshot:
    trace: Trace  # every internal of one forward pass (batch of 1)
    token_labels: tuple[str, ...]  # a readable label per prompt token (spaces/newlines made visible)
    config: GPTConfig  # the shape of the model that made the trace
    vocab_embeddings: np.ndarray  # (vocab, d_model) token-embedding matrix, read-only
    vocab_labels: tuple[str, ...]  # a readable label per vocabulary id
    vocab_projection: np.ndarray | None = None  # (vocab, 2) PCA of vocab_embeddings, made once per model
    baseline: Trace | None = None  # the trace without the active what-if, for before/after
    truncated: int = 0  # how many prompt tokens were cut to fit the context
    step: int | None = None  # training step of the weights, when known
    cut_labels: tuple[str, ...] = ()  # labels of the tokens cut off the front to fit the context
    token_bytes: tuple[bytes, ...] = ()  # the raw bytes of each prompt token, for hover text

    @property
    def n_tokens(self) -> int:
        return len(self.token_labels)
