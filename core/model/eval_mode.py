"""Run a model in evaluation mode for a moment and put every module back exactly as it was."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Dropout off while inside; afterwards each module's own training flag is restored
    (a model half in training, half in eval, stays that way)."""
    # GPT keeps the list (hook points left out: they never look at their flag); others walk the tree.
    modules = getattr(model, "modules_with_a_mode", model.modules)()
    in_training = [module for module in modules if module.training]
    for module in in_training:
        module.training = False
    try:
        yield model
    finally:
        for module in in_training:
            module.training = True
