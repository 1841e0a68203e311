"""Incremental trace: when a prompt grows by a few tokens, compute only the new ones.

In a causal model a token never sees later tokens, so everything recorded for the first p tokens of
a prompt stays exactly the same when tokens after them change. A new trace of a prompt that starts
with the same p tokens as the previous one therefore
    1. keeps the previous trace's values for those p positions (slices),
    2. runs the model over the new tokens only (GPT.forward_cached), their queries attending to the
       earlier tokens' keys and values, which the previous trace already holds: this is the KV cache
       (the same mechanism a later "KV cache" lesson and view show for generating text),
    3. joins the two along the position dimension.
The result equals a full trace in every name (tests/core/test_kv_cache.py checks it over random edits).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LayerCache:
    """One layer's keys and values of the earlier tokens, after RoPE, one per query head."""

    key: torch.Tensor    # (B, nh, p, hs)
    value: torch.Tensor  # (B, nh, p, hs)


@dataclass(frozen=True)
class KVCache:
    """The keys and values of the first `length` tokens in every layer."""

    length: int                      # p: how many earlier tokens are cached
    layers: tuple[LayerCache, ...]   # one per layer, in order

    @classmethod
    def from_trace(cls, trace, length: int, n_layers: int) -> "KVCache":
        """The cache a trace already holds: its recorded keys and values of the first `length` tokens."""
        layers = tuple(
            LayerCache(trace[f"blocks.{layer}.attn.k"][:, :, :length], trace[f"blocks.{layer}.attn.v"][:, :, :length])
            for layer in range(n_layers)
        )
        return cls(length, layers)


def shared_prefix_length(old_ids: torch.Tensor, new_ids: torch.Tensor) -> int:
    """How many leading positions hold the same token in every batch row of both (B, T) id tables."""
    if old_ids.size(0) != new_ids.size(0):
        return 0
    both = min(old_ids.size(1), new_ids.size(1))
    differs = (old_ids[:, :both] != new_ids[:, :both]).any(dim=0)         # (both,)
    first_difference = torch.nonzero(differs)
    return int(first_difference[0]) if len(first_difference) else both


def depends_on_whole_prompt(intervention) -> bool:
    """A what-if whose edit at one position depends on other positions cannot be extended: a mean
    ablation averages a head over every position (a new token changes the mean at all of them), and a
    replacement pattern is given for the prompt as a whole. Such traces are always traced in full."""
    return bool(intervention.patterns) or (bool(intervention.ablate_heads) and intervention.ablation == "mean")


# -- joining the kept prefix and the new positions ---------------------------------------------------
_TOKEN_AXIS_2 = (".attn.q", ".attn.k", ".attn.v", ".attn.z")              # (B, nh, T, hs)
_SQUARE = (".attn.scores", ".attn.masked_scores", ".attn.pattern")        # (B, nh, T, T)


def join(name: str, kept: torch.Tensor, new: torch.Tensor, old_rows_new_keys: Callable[[], torch.Tensor]) -> torch.Tensor:
    """The full value of `name`: the first p positions from the previous trace, then the new ones.

    kept is the previous trace's value, cut to p positions; new is what the cached pass recorded.
    For the (T, T) tables the new rows already cover every key; the kept rows are widened by the new
    keys: a later key is masked for an earlier query, so masked_scores gets -inf there and the
    pattern 0 (softmax of -inf), while scores (before the mask) gets the real q·k, which
    old_rows_new_keys computes from the cached queries.
    """
    if name == "embed.pos":
        return torch.cat((kept, new), dim=0)                                  # (T, C) or (T, rot/2)
    if name.endswith(_TOKEN_AXIS_2):
        return torch.cat((kept, new), dim=2)                                  # (B, nh, T, hs)
    if name.endswith(_SQUARE):
        if name.endswith(".scores"):
            widening = old_rows_new_keys()                                    # (B, nh, p, Tn)
        else:
            fill = float("-inf") if name.endswith(".masked_scores") else 0.0
            B, nh, p, _ = kept.shape
            widening = kept.new_full((B, nh, p, new.size(2)), fill)          # (B, nh, p, Tn)
        top = torch.cat((kept, widening), dim=3)                              # (B, nh, p, T)
        return torch.cat((top, new), dim=2)                                   # (B, nh, T, T)
    return torch.cat((kept, new), dim=1)                                      # (B, T, ...)


def keep_prefix(name: str, value: torch.Tensor, p: int) -> torch.Tensor:
    """The previous trace's `name` cut to its first p positions (views, not copies)."""
    if name == "embed.pos":
        return value[:p]                                                      # (p, ...)
    if name.endswith(_TOKEN_AXIS_2):
        return value[:, :, :p]                                                # (B, nh, p, hs)
    if name.endswith(_SQUARE):
        return value[:, :, :p, :p]                                            # (B, nh, p, p)
    return value[:, :p]                                                       # (B, p, ...)


def scaled_scores(model, layer: int, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """Scores of queries (B, nh, p, hs) against keys (B, nh, Tn, hs), scaled as the layer scales them."""
    return torch.matmul(query, key.transpose(2, 3)) * model.transformer.h[layer].attn.scale  # (B, nh, p, Tn)
