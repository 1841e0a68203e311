"""Which keys each query may look at: the causal mask (and GPT-Neo's local windows), made per pass."""

from __future__ import annotations

import torch


def attention_mask(T: int, window: int | None, device: torch.device, first_query: int = 0) -> torch.Tensor:
    """(T, T): what gets added to the scores. 0 where a query (row) may look at a key (column), -inf elsewhere.

    Causal: never at a later token (the upper triangle). With a window (GPT-Neo's local layers) also
    never more than window - 1 tokens back. Built for the T of this pass, never for the whole context:
    a model that declares 32,768 positions would need 4 GB for one full-size mask.
    With first_query > 0 (a pass over new tokens only, see forward_cached) only the rows of queries
    first_query..T-1 are made: (T - first_query, T).
    """
    query = torch.arange(first_query, T, device=device)[:, None]  # (Tq, 1)
    key = torch.arange(T, device=device)[None, :]  # (1, T)
    allowed = key <= query  # (T, T)
    if window is not None:
        allowed = allowed & (query - key < window)
    return torch.zeros(allowed.shape, device=device).masked_fill(~allowed, float("-inf"))  # (Tq, T)


class AttentionMasks:
    """The masks of one forward pass, made when a layer first asks and shared by the layers that follow."""

    def __init__(self, T: int, device: torch.device, first_query: int = 0) -> None:
        self.T, self.device, self.first_query = T, device, first_query
        self._made: dict[int | None, torch.Tensor] = {}

    def get(self, window: int | None) -> torch.Tensor:
        if window not in self._made:
            self._made[window] = attention_mask(self.T, window, self.device, self.first_query)  # (Tq, T)
        return self._made[window]
