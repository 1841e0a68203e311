"""Showing a training run's weights in the explorer: a WeightSnapshot becomes a ModelInUse.

The explorer's rule is that a session's model never changes while it is shown, so every picture of
the training run gets its own model. Building a GPT costs tens of milliseconds (its layers), so models
are recycled: when nothing refers to a session any more (the explorer moved on and no trace of it is
pending), its model goes back to a free list for the next one.
"""

from __future__ import annotations

import weakref

from app.state.model_in_use import ModelInUse
from core.model.model import GPT
from core.training.trainer import WeightSnapshot


class WeightDisplay:
    """Makes sessions for one run (one model shape, one tokenizer)."""

    def __init__(self, config, tokenizer, source: str) -> None:
        self.config = config
        self.tokenizer = tokenizer
        self.source = source
        self._free: list[GPT] = []  # models whose sessions are gone (appended from any thread: atomic)

    def session_for(self, weights: WeightSnapshot) -> ModelInUse:
        model = self._free.pop() if self._free else GPT.unfilled(self.config).eval()  # every weight is loaded next
        model.load_state_dict(weights.state_dict())
        session = ModelInUse(model, self.tokenizer, self.source, trained=weights.step > 0, step=weights.step)
        weakref.finalize(session, self._free.append, model)
        return session
