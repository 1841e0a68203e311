"""Recorded values that grow by the new tokens' positions per keystroke, without copying the old ones.

An incremental trace (core/model/kv_cache.py) computes only the new tokens; the plain way to hand
out whole values (kv_cache.Joined) then concatenates the kept positions and the new ones, a copy of
everything on every keystroke: at 512 tokens of GPT-2 small, 103 MB for the logits alone, and for
each (T, T) table (scores, masked scores, pattern; each row a query, each column a key) 12.6 MB per
layer, which grows with T^2. Here an extended trace's value is a view of a buffer with spare
positions, and a keystroke writes only the new positions into it: for a (T, T) table the new rows
(the new queries against every key) and the new columns (every earlier query against the new keys:
masked for a causal model, so -inf in the masked scores and 0 in the pattern, but a real q·k in the
scores, taken before the mask).

A trace is immutable and may be on screen (on another thread) while the next one is made, so a write
may only go where no living trace's view reaches. Each trace holds a Claim on the positions it views;
a write from position p onwards needs every living claim on that buffer to end at or before p. When a
character is deleted and another typed (or a BPE token is replaced by a longer one), the old trace may
still be showing position p: the write goes to a second buffer of the same family instead, which first
catches up on the positions it lacks (a few, not all). A fresh buffer (one full copy) is made only
when every buffer is claimed too far, or full.

The keys and values the pass itself attends to grow the same way (GrownLayerCache): the new tokens'
keys are written into the keys' buffer during the pass, and the trace keeps that grown value.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import torch

from core.model.kv_cache import SQUARE, KVCache, LayerCache, position_axis, shared_prefix_length

SPARE = 64  # positions a new buffer keeps free beyond the prompt (and at least a quarter more)


class Claim:
    """Held by a trace while it lives: it views the first `length` positions of a buffer."""

    __slots__ = ("length", "__weakref__")

    def __init__(self, length: int) -> None:
        self.length = length


class Buffer:
    """Storage with room for `capacity` positions; its first len(ids) hold the values of `ids`."""

    def __init__(self, data: torch.Tensor, ids: torch.Tensor, capacity: int) -> None:
        self.data = data  # the value's shape, with `capacity` positions (rows and columns)
        self.ids = ids  # (B, n): the tokens whose positions are valid
        self.capacity = capacity
        self._claims: list[weakref.ref] = []  # one per trace viewing the buffer (dead ones are pruned)

    def claimed(self) -> int:
        """How far the views of the traces still alive reach."""
        self._claims = [ref for ref in self._claims if ref() is not None]
        return max((ref().length for ref in self._claims if ref() is not None), default=0)

    def claim(self, length: int) -> Claim:
        claim = Claim(length)
        self._claims.append(weakref.ref(claim))
        return claim


@dataclass(frozen=True)
class Grown:
    """A value of an extended trace: a view of a family's buffer, and the claim that keeps it."""

    view: torch.Tensor
    buffer: Buffer
    family: GrowingValue
    claim: Claim


class GrowingValue:
    """The buffers one name's value grows in, along a line of traces each extended from the one before."""

    def __init__(self, name: str, fill: float | None) -> None:
        self.axis = position_axis(name)  # the dimension that counts positions (a table's rows)
        self.square = name.endswith(SQUARE)  # a (B, nh, T, T) table: its columns grow too
        self.fill = fill  # what a table's columns of later keys hold in earlier rows; None: computed (scores)
        self._buffers: list[weakref.ref] = []  # held by the traces' views; gone when no trace needs them...
        self._recent: list[Buffer] = []  # ...except the two written last, which take turns
        self._lock = threading.Lock()

    @classmethod
    def start(cls, name: str, value: torch.Tensor, ids: torch.Tensor, fill: float | None = None) -> Grown:
        """The first buffer of a new family, a copy of a full trace's value. It claims nothing (the
        full trace keeps its own tensor), so the first keystroke may write into it."""
        family = cls(name, fill)
        with family._lock:
            buffer = family._new_buffer(value, ids, value.size(family.axis))
            family._recent = [buffer]
            return family._grown(buffer, 0)

    def cut(self, source: Grown, length: int) -> Grown:
        """The first `length` positions of `source` (a shorter prompt): a view, nothing written."""
        with self._lock:
            return self._grown(source.buffer, length)

    def extended(
        self,
        source: Grown,
        ids: torch.Tensor,
        kept: int,
        new: torch.Tensor,
        new_columns: torch.Tensor | None = None,
        shared: Callable[[torch.Tensor], int] | None = None,
    ) -> Grown:
        """The value of `ids`, whose first `kept` positions `source` holds, followed by the new ones.

        new: the new positions' values (a table: the new rows (B, nh, Tn, T), against every key);
        new_columns (B, nh, kept, Tn): a table's earlier queries against the new keys (None: self.fill,
        which a causal model's table holds there already);
        shared(other_ids): how many leading tokens other_ids share with ids (one trace's names ask
        about the same few id tables, so the caller may remember the answers)."""
        T = ids.size(1)
        shared = shared or (lambda other: shared_prefix_length(other, ids))
        with self._lock:
            buffer, valid = self._writable(shared, kept, T)
            if buffer is None:
                buffer, valid = self._new_buffer(self._part(source.buffer.data, kept), ids[:, :kept], T), kept
            if valid < kept:  # catch up on the positions this buffer lacks, from the source's buffer
                self._catch_up(buffer.data, source.buffer.data, valid, kept)
            self._rows(buffer.data, kept, T).copy_(new)
            if self.square and new_columns is not None:  # the scores: earlier queries · the new keys
                buffer.data[:, :, :kept, kept:T] = new_columns  # (B, nh, kept, Tn)
            # A table with a fill needs no write there: those cells are the earlier queries' future, which
            # holds the fill from the start (_new_buffer) and is all the model ever writes there. (Writing a
            # column of a (T, T) table touches T rows far apart: at 512 tokens of GPT-2 small the masked
            # scores' and pattern's columns took 3.7 ms a keystroke, more than all else the tables cost.)
            buffer.ids = ids  # not written to again (the trace's own, immutable ids)
            self._recent = [buffer] + [other for other in self._recent if other is not buffer][:1]
            return self._grown(buffer, T)

    def _rows(self, data: torch.Tensor, start: int, end: int) -> torch.Tensor:
        """Positions start..end (a table's rows, against the first `end` keys)."""
        rows = data.narrow(self.axis, start, end - start)
        return rows[..., :end] if self.square else rows

    def _part(self, data: torch.Tensor, length: int) -> torch.Tensor:
        """The first `length` positions (a table's first `length` rows and columns)."""
        return self._rows(data, 0, length)

    def _catch_up(self, data: torch.Tensor, source: torch.Tensor, valid: int, kept: int) -> None:
        """Copy positions valid..kept from `source`; for a table, an L-shaped strip: those rows, and the
        earlier rows' columns valid..kept (their keys changed as well)."""
        self._rows(data, valid, kept).copy_(self._rows(source, valid, kept))
        if self.square:
            data[:, :, :valid, valid:kept] = source[:, :, :valid, valid:kept]  # (B, nh, valid, kept - valid)

    def _writable(self, shared: Callable[[torch.Tensor], int], kept: int, T: int) -> tuple[Buffer | None, int]:
        """A buffer of this family with room for T, no living view past the positions it would write,
        and the most positions already valid for ids; with how many (at most kept) it has."""
        best, best_valid = None, -1
        for ref in self._buffers:
            buffer = ref()
            if buffer is None or buffer.capacity < T:
                continue
            valid = min(kept, shared(buffer.ids))
            if buffer.claimed() <= valid and valid > best_valid:
                best, best_valid = buffer, valid
        return best, max(best_valid, 0)

    def _new_buffer(self, value: torch.Tensor, ids: torch.Tensor, T: int) -> Buffer:
        """A buffer with room for T positions plus spare, holding `value` at its start."""
        capacity = T + max(SPARE, T // 4)
        shape = list(value.shape)
        shape[self.axis] = capacity
        if self.square:
            shape[-1] = capacity
        data = value.new_empty(shape)
        if self.square and self.fill is not None:  # every cell the value does not cover is some query's future
            data.fill_(self.fill)
        buffer = Buffer(data, ids, capacity)
        self._part(buffer.data, value.size(self.axis)).copy_(value)
        self._buffers = [ref for ref in self._buffers if ref() is not None] + [weakref.ref(buffer)]
        return buffer

    def _grown(self, buffer: Buffer, length: int) -> Grown:
        return Grown(self._part(buffer.data, length), buffer, self, buffer.claim(length))


# -- the KV cache of an extended trace, grown in the same buffers --------------------------------------
@dataclass(frozen=True)
class GrownLayerCache(LayerCache):
    """One layer's cached keys and values held as grown values: the new tokens' keys and values are
    written into the buffers after them (GrowingValue.extended, under the same claims as every value)
    instead of concatenated with them, and the grown values are kept in `grown` for the trace to hold."""

    names: tuple[str, str]  # the recorded names of the keys and the values ("blocks.{l}.attn.k", ".v")
    sources: tuple[Grown, Grown]  # the previous trace's keys and values
    ids: torch.Tensor  # (B, T) the new trace's ids
    shared: Callable[[torch.Tensor], int]  # how many leading tokens other ids share with ids
    grown: dict  # name -> Grown, filled by followed_by

    def followed_by(self, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        kept = self.key.size(2)
        for name, source, new in zip(self.names, self.sources, (key, value)):
            self.grown[name] = source.family.extended(source, self.ids, kept, new, shared=self.shared)
        return self.grown[self.names[0]].view, self.grown[self.names[1]].view  # (B, nh, T, hs) each


def grown_cache(trace, kept: int, n_layers: int, ids: torch.Tensor, shared, grown: dict) -> KVCache | None:
    """The KV cache of `trace`'s first `kept` tokens with its keys and values grown in place for `ids`
    (the grown values land in `grown`, by name); None when the trace's keys and values are not grown
    values yet (the first keystroke after a full trace: KVCache.from_trace concatenates)."""
    layers = []
    for layer in range(n_layers):
        names = (f"blocks.{layer}.attn.k", f"blocks.{layer}.attn.v")
        sources = tuple(trace.stored(name) for name in names)
        if not all(isinstance(source, Grown) for source in sources):
            return None
        key, value = (source.view[:, :, :kept] for source in sources)  # (B, nh, kept, hs) each
        layers.append(GrownLayerCache(key, value, names, sources, ids, shared, grown))
    return KVCache(kept, tuple(layers))
