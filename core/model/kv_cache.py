"""Incremental trace: when a prompt grows by a few tokens, compute only the new ones.

In a causal model a token never sees later tokens, so everything recorded for the first p tokens of
a prompt stays exactly the same when tokens after them change. A new trace of a prompt that starts
with the same p tokens as the previous one therefore
    1. keeps the previous trace's values for those p positions (slices),
    2. runs the model over the new tokens only (GPT.forward_cached), their queries attending to the
       earlier tokens' keys and values, which the previous trace already holds: this is the KV cache
       (the same mechanism a later "KV cache" lesson and view show for generating text; once the
       trace's keys and values are grown values, the new ones are written after them in place:
       growing_table.GrownLayerCache),
    3. joins the two along the position dimension: the plain way below (Joined, a copy of every
       position when a value is read), or the fast one, writing only the new positions into a buffer
       with room to spare (core/model/growing_table.py), which run_trace uses.
The result equals a full trace in every name (tests/core/test_kv_cache.py checks it over random edits,
both ways).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LayerCache:
    """One layer's keys and values of the earlier tokens, after RoPE, one per query head."""

    key: torch.Tensor  # (B, nh, p, hs)
    value: torch.Tensor  # (B, nh, p, hs)

    def followed_by(self, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The cached keys and values followed by the new tokens' (B, nh, Tn, hs): (B, nh, p + Tn, hs) each,
        a copy of every position (growing_table.GrownLayerCache writes only the new ones)."""
        return torch.cat((self.key, key), dim=2), torch.cat((self.value, value), dim=2)


@dataclass(frozen=True)
class KVCache:
    """The keys and values of the first `length` tokens in every layer."""

    length: int  # p: how many earlier tokens are cached
    layers: tuple[LayerCache, ...]  # one per layer, in order

    @classmethod
    def from_trace(cls, trace, length: int, n_layers: int) -> KVCache:
        """The cache a trace already holds: its recorded keys and values of the first `length` tokens
        (after RoPE and shared out to every query head, as recorded)."""
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
    differs = (old_ids[:, :both] != new_ids[:, :both]).any(dim=0)  # (both,)
    first_difference = torch.nonzero(differs)
    return int(first_difference[0]) if len(first_difference) else both


def depends_on_whole_prompt(intervention) -> bool:
    """A what-if whose edit at one position depends on other positions cannot be extended: a mean
    ablation averages a head over every position (a new token changes the mean at all of them), and a
    replacement pattern is given for the prompt as a whole. Such traces are always traced in full."""
    return bool(intervention.patterns) or (bool(intervention.ablate_heads) and intervention.ablation == "mean")


# -- joining the kept prefix and the new positions (the plain way) ------------------------------------
# A trace made this way keeps each value as the chunks of positions it was computed in (the first,
# long one from the full trace, then one per keystroke) and joins them only when the value is read:
# a panel reads a few names, so a keystroke copies a few tensors, not all of them; but each copy has
# every position (a (T, T) table T x T), so it grows with the prompt. core/model/growing_table.py avoids
# the copy; trace.GROW_IN_PLACE = False goes this way instead.
_TOKEN_AXIS_2 = (".attn.q", ".attn.k", ".attn.v", ".attn.z")  # (B, nh, T, hs)
SQUARE = (".attn.scores", ".attn.masked_scores", ".attn.pattern")  # (B, nh, T, T)


def position_axis(name: str) -> int:
    """Which dimension of a recorded value counts the positions (for the (T, T) tables: the rows)."""
    if name == "embed.pos":
        return 0  # (T, C) or (T, rot/2)
    if name.endswith(_TOKEN_AXIS_2 + SQUARE):
        return 2  # (B, nh, T, ...)
    return 1  # (B, T, ...)


@dataclass(frozen=True)
class Chunk:
    """The values of positions start.. start + n computed in one pass (for the (T, T) tables: those
    rows, against the keys the pass had: value.size(-1) columns)."""

    start: int
    value: torch.Tensor


@dataclass(frozen=True)
class Joined:
    """A recorded value kept as chunks of positions, joined into one tensor when first read."""

    name: str
    chunks: tuple[Chunk, ...]
    length: int  # T: positions in all
    scale: float = 1.0  # the layer's score scale, to compute the scores of old queries with new keys

    def cut(self, length: int) -> Joined:
        """The first `length` positions (views of the chunks, no copies)."""
        axis, square = position_axis(self.name), self.name.endswith(SQUARE)
        kept = []
        for chunk in self.chunks:
            if chunk.start >= length:
                break
            value = chunk.value.narrow(axis, 0, min(chunk.value.size(axis), length - chunk.start))
            if square and value.size(3) > length:
                value = value[..., :length]  # (B, nh, rows, length)
            kept.append(Chunk(chunk.start, value))
        return Joined(self.name, tuple(kept), length, self.scale)

    def then(self, new: torch.Tensor) -> Joined:
        """These positions followed by new ones, computed in a pass that started where these end."""
        return Joined(
            self.name,
            (*self.chunks, Chunk(self.length, new)),
            self.length + new.size(position_axis(self.name)),
            self.scale,
        )

    def join(self, read: Callable[[str], torch.Tensor]) -> torch.Tensor:
        """One tensor of all positions; `read` gives other names of the same trace (queries and keys).

        A (T, T) table's older rows lack the keys that came later. A later key is masked for an earlier
        query, so masked_scores gets -inf there and the pattern 0 (softmax of -inf), while scores
        (before the mask) gets the real q·k, computed from the trace's queries and keys.
        """
        axis = position_axis(self.name)
        values = [chunk.value for chunk in self.chunks]
        if self.name.endswith(SQUARE):
            values = [self._widened(chunk, read) for chunk in self.chunks]
        return values[0] if len(values) == 1 else torch.cat(values, dim=axis)

    def _widened(self, chunk: Chunk, read: Callable[[str], torch.Tensor]) -> torch.Tensor:
        rows = chunk.value  # (B, nh, n, width)
        width = rows.size(3)
        if width == self.length:
            return rows
        B, nh, n, _ = rows.shape
        if self.name.endswith(".attn.scores"):
            layer = self.name.rsplit(".", 2)[0]  # "blocks.{l}"
            query = read(f"{layer}.attn.q")[:, :, chunk.start : chunk.start + n]  # (B, nh, n, hs)
            key = read(f"{layer}.attn.k")[:, :, width:]  # (B, nh, T - width, hs)
            widening = torch.matmul(query, key.transpose(2, 3)) * self.scale  # (B, nh, n, T - width)
        else:
            fill = float("-inf") if self.name.endswith(".masked_scores") else 0.0
            widening = rows.new_full((B, nh, n, self.length - width), fill)  # (B, nh, n, T - width)
        return torch.cat((rows, widening), dim=3)  # (B, nh, n, T)


def score_scale(model, name: str) -> float:
    """The score scale of the layer `name` belongs to (1.0 for names outside attention)."""
    if not name.endswith(SQUARE):
        return 1.0
    return model.transformer.h[int(name.split(".")[1])].attn.scale
