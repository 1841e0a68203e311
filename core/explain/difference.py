"""Two prompts side by side: every recorded value of the clean run minus the same value of the corrupted run.

    difference = difference_trace(clean_trace, corrupted_trace)   # both traces of one model, same token count
    difference["blocks.0.attn.pattern"]                            # clean pattern − corrupted pattern

The difference reads like any trace, so whatever draws a trace draws the difference: position by position,
0 where the two runs agree. Masked scores keep their −∞ where both runs mask the same cell (−∞ − −∞ is
not a number; the cell is simply not there in either run).

Numbers that are not a straight read of one value (a probability after a softmax, the likeliest token of a
lens cell) are not the difference of their inputs; lens_difference compares those cell by cell.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import numpy as np
import torch

from core.model.trace import Trace

from .attribution import Attribution
from .logit_lens import LogitLens, logit_lens, read_out, residual_rows


def subtract(clean: torch.Tensor, corrupted: torch.Tensor) -> torch.Tensor:
    """clean − corrupted; where both hold the same infinity (a cell masked in both runs) it stays."""
    with torch.inference_mode():
        same_infinity = torch.isinf(clean) & (clean == corrupted)
        return torch.where(same_infinity, clean, clean - corrupted)


class DifferenceTrace(Trace):
    """A trace whose every value is clean − corrupted, each computed the first time it is read.

    Its ids and its what-if are the clean run's; `clean` and `corrupted` are the two traces themselves."""

    def __init__(self, clean: Trace, corrupted: Trace) -> None:
        if tuple(clean.ids.shape) != tuple(corrupted.ids.shape):
            raise ValueError(
                f"The clean prompt has {clean.ids.shape[-1]} tokens and the corrupted one "
                f"{corrupted.ids.shape[-1]}; a difference needs the same count, position by position."
            )
        shared = {name: clean.stored(name) for name in clean if name in corrupted}
        super().__init__(clean.ids, shared, clean.intervention)
        self.clean, self.corrupted = clean, corrupted
        self._differences: dict[str, torch.Tensor] = {}
        self._subtracting = threading.Lock()  # a trace may be read from the GUI thread and a worker

    def __getitem__(self, name: str) -> torch.Tensor:
        self.stored(name)  # a sentence naming the trace's values for a name it lacks
        with self._subtracting:
            if name not in self._differences:
                self._differences[name] = subtract(self.clean[name], self.corrupted[name])
            return self._differences[name]


def difference_trace(clean: Trace, corrupted: Trace) -> DifferenceTrace:
    """clean − corrupted for every value both traces recorded (ValueError unless the token counts match)."""
    return DifferenceTrace(clean, corrupted)


# -- the logit lens of two runs -----------------------------------------------------------------------
@dataclass(frozen=True)
class LensDifference:
    """The two runs' logit lenses cell by cell; the numbers follow the CLEAN run's likeliest token."""

    clean: LogitLens  # the clean run's lens
    corrupted: LogitLens  # the corrupted run's lens
    clean_top_in_corrupted: np.ndarray  # (rows, T) the corrupted run's probability of the clean top token

    @property
    def rows(self) -> tuple[str, ...]:
        return self.clean.rows

    @property
    def probability_change(self) -> np.ndarray:
        """(rows, T): the clean top token's probability in the clean run minus in the corrupted run."""
        return self.clean.top_probs[:, :, 0] - self.clean_top_in_corrupted

    @property
    def top_differs(self) -> np.ndarray:
        """(rows, T) bool: the two runs' likeliest tokens differ there."""
        return self.clean.top_ids[:, :, 0] != self.corrupted.top_ids[:, :, 0]


def probabilities_of(model, trace: Trace, token_ids: np.ndarray) -> np.ndarray:
    """(rows, T): the lens probability of token_ids[row, position] at every cell of `trace`'s lens."""
    rows = residual_rows(trace, model.config.n_layers)  # (L+1, T, C)
    chosen = torch.as_tensor(np.asarray(token_ids), dtype=torch.long)  # (L+1, T)
    found = []
    for row, ids in zip(rows, chosen):  # one row at a time: (T, vocab) at once, not (L+1, T, vocab)
        probabilities = torch.softmax(read_out(model, row), dim=-1)  # (T, vocab)
        found.append(probabilities.gather(1, ids[:, None])[:, 0])  # (T,)
    return torch.stack(found).numpy()


def lens_difference(model, clean: Trace, corrupted: Trace, k: int = 10) -> LensDifference:
    """Both runs' lenses, and how likely the corrupted run finds each cell's clean top token."""
    if tuple(clean.ids.shape) != tuple(corrupted.ids.shape):
        raise ValueError("The two prompts need the same token count for their lenses to be compared cell by cell.")
    clean_lens, corrupted_lens = logit_lens(model, clean, k=k), logit_lens(model, corrupted, k=k)
    in_corrupted = probabilities_of(model, corrupted, clean_lens.top_ids[:, :, 0])
    return LensDifference(clean_lens, corrupted_lens, in_corrupted)


# -- direct attribution of two runs --------------------------------------------------------------------
ATTRIBUTION_PARTS = (
    "heads",
    "attention_biases",
    "mlps",
    "mlp_biases",
    "token_embedding",
    "position_embedding",
    "final_norm_bias",
    "logit",
)


def attribution_difference(clean: Attribution, corrupted: Attribution) -> Attribution:
    """Part by part, the clean run's share minus the corrupted run's, for the same token (difference).

    Each run's parts add up to its own logit, so the differences add up to the difference of the logits.
    The norm scale kept is the clean run's (each run froze its own)."""
    if (clean.target, clean.other) != (corrupted.target, corrupted.other):
        raise ValueError("Both runs' attributions must explain the same token (difference) to be compared.")
    return replace(clean, **{part: getattr(clean, part) - getattr(corrupted, part) for part in ATTRIBUTION_PARTS})
