"""Run a model in evaluation mode for a moment and put every module back exactly as it was."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Dropout off while inside; afterwards each module's own training flag is restored
    (a model half in training, half in eval, stays that way)."""
    every_module = getattr(model, "every_module", model.modules)()  # GPT keeps the list, others walk the tree
    in_training = [module for module in every_module if module.training]
    for module in in_training:
        module.training = False
    try:
        yield model
    finally:
        for module in in_training:
            module.training = True
