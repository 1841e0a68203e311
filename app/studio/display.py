"""Showing a training run's weights in the explorer: a WeightSnapshot becomes a ModelSession.

The explorer's rule is that a session's model never changes while it is shown, so every picture of
the training run gets its own model: a copy of a template (cheaper than building a GPT and drawing
random weights it would overwrite) with the snapshot's weights loaded.
"""
from __future__ import annotations

import copy

from app.sessions import ModelSession
from core.model import GPT
from core.trainer import WeightSnapshot


class WeightDisplay:
    """Makes sessions for one run (one model shape, one tokenizer)."""

    def __init__(self, config, tokenizer, source: str) -> None:
        self.template = GPT(config).eval()
        self.tokenizer = tokenizer
        self.source = source

    def session_for(self, weights: WeightSnapshot) -> ModelSession:
        model = copy.deepcopy(self.template)
        model.load_state_dict(weights.state_dict())
        return ModelSession(model.eval(), self.tokenizer, self.source, trained=weights.step > 0,
                            step=weights.step)
