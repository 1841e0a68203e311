"""Named places in the model where a value can be read or changed.

A HookPoint is an identity layer with a name (like TransformerLens' hook points). When nobody
listens it just returns its input, so the plain forward pass used for training pays nothing.
A trace attaches listeners that copy the value out; an intervention attaches one that edits it.
A hook point is called like any nn.Module, so PyTorch's own forward hooks work on it too.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

# A listener gets (value, hook name) and returns the value to pass on (the same one, or an edit).
Listener = Callable[[torch.Tensor, str], torch.Tensor]


class HookPoint(nn.Module):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.listeners: list[Listener] = []

    @property
    def active(self) -> bool:
        return bool(self.listeners)

    def forward(self, value: torch.Tensor) -> torch.Tensor:
        for listener in self.listeners:
            value = listener(value, self.name)
        return value
