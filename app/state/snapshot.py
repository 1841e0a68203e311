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
    mode: str = "clean"  # which prompt this shows: "clean", "corrupted" or "difference" (app/state/comparison.py)
    compared: tuple[Snapshot, Snapshot] | None = None  # (clean, corrupted) snapshots while comparing two prompts
    comparison_note: str = ""  # one sentence on how the two prompts line up ("" without a second prompt)
    comparison_headline: str = ""  # the note's first words, short enough for the Compare bar
    counts_differ: bool = False  # the two prompts' token counts differ and neither pad nor cut is chosen

    @property
    def n_tokens(self) -> int:
        return len(self.token_labels)

    @property
    def is_difference(self) -> bool:
        """Every value is clean − corrupted: drawn on a scale centred on 0."""
        return self.mode == "difference"

    @property
    def clean(self) -> Snapshot:
        """The clean prompt's snapshot (this one, unless it shows the corrupted prompt or the difference)."""
        return self.compared[0] if self.compared is not None else self
