"""Giving a model built on PyTorch's 'meta' device (shapes only) real memory, for loaded weights to fill."""

from __future__ import annotations

import torch
from torch import nn


def give_memory(model: nn.Module) -> None:
    """Swap every 'meta' (shapes-only) parameter and buffer for uninitialised CPU memory of its shape.
    (Module.to_empty does the same, but through PyTorch's reference kernels, which take a second to import.)"""
    new_tensors: dict[int, torch.Tensor] = {}  # old tensor -> its replacement, so tied weights stay tied
    for module in model.modules():
        for name, parameter in list(module.named_parameters(recurse=False)):
            if id(parameter) not in new_tensors:
                new_tensors[id(parameter)] = nn.Parameter(
                    torch.empty(parameter.shape, dtype=parameter.dtype), requires_grad=parameter.requires_grad
                )
            setattr(module, name, new_tensors[id(parameter)])
        for name, buffer in list(module.named_buffers(recurse=False)):
            setattr(module, name, torch.empty(buffer.shape, dtype=buffer.dtype))  # keeps its persistence
