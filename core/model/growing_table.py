"""(T, T) tables that grow by a row and a column per keystroke, without copying the T x T already there.

The attention scores, masked scores and pattern are (B, nh, T, T): each row a query, each column a
key. When a token is typed at the end, the table gains one row (the new query against every key) and
one column (every earlier query against the new key: masked for a causal model, so -inf in the masked
scores and 0 in the pattern, but a real q·k in the scores, taken before the mask). The plain way
(core/model/kv_cache.Joined) builds a new T x T tensor on every keystroke; at 512 tokens that is a
12.6 MB copy per layer and name, which grows with T^2. Here an extended trace's table is a view of a
buffer with spare rows and columns, and a keystroke writes only the new row and column into it.

A trace is immutable and may be on screen (on another thread) while the next one is made, so a write
may only go where no living trace's view reaches. Each trace holds a Claim on the square it views; a
write from position p onwards (rows and columns p, p+1, ...) needs every living claim on that buffer
to end at or before p. When a character is deleted and another typed (or a BPE token is replaced by a
longer one), the old trace may still be showing row p: the write goes to a second buffer of the same
family instead, which first catches up on the rows and columns it lacks (an L-shaped strip, not the
square). A fresh buffer (one full copy) is made only when every buffer is claimed too far, or full.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import torch

from core.model.kv_cache import shared_prefix_length

SPARE = 64  # rows and columns a new buffer keeps free beyond the prompt (and at least a quarter more)


class Claim:
    """Held by a trace while it lives: it views the first `length` rows and columns of a buffer."""

    __slots__ = ("length", "__weakref__")

    def __init__(self, length: int) -> None:
        self.length = length


class SquareBuffer:
    """(B, nh, capacity, capacity) storage; its first len(ids) rows and columns hold the table of `ids`."""

    def __init__(self, data: torch.Tensor, ids: torch.Tensor) -> None:
        self.data = data                      # (B, nh, capacity, capacity)
        self.ids = ids                        # (B, n): the tokens whose rows and columns are valid
        self._claims: list[weakref.ref] = []  # one per trace viewing the buffer (dead ones are pruned)

    @property
    def capacity(self) -> int:
        return self.data.size(2)

    def claimed(self) -> int:
        """How far the views of the traces still alive reach (rows and columns)."""
        self._claims = [ref for ref in self._claims if ref() is not None]
        return max((ref().length for ref in self._claims if ref() is not None), default=0)

    def claim(self, length: int) -> tuple[torch.Tensor, Claim]:
        """A view of the first `length` rows and columns, and the claim that keeps them unchanged."""
        claim = Claim(length)
        self._claims.append(weakref.ref(claim))
        return self.data[:, :, :length, :length], claim                      # (B, nh, T, T)


@dataclass(frozen=True)
class Grown:
    """A (T, T) value of an extended trace: a view of a family's buffer, and the claim that keeps it."""

    view: torch.Tensor        # (B, nh, T, T)
    buffer: SquareBuffer
    family: "GrowingTable"
    claim: Claim


class GrowingTable:
    """The buffers one name's table grows in, along a line of traces each extended from the one before."""

    def __init__(self, fill: float | None) -> None:
        self.fill = fill  # what the columns of later keys hold in earlier rows; None: computed (the scores)
        self._buffers: list[weakref.ref] = []  # held by the traces' views; gone when no trace needs them...
        self._recent: list[SquareBuffer] = []  # ...except the two written last, which take turns
        self._lock = threading.Lock()

    @classmethod
    def start(cls, table: torch.Tensor, ids: torch.Tensor, fill: float | None) -> Grown:
        """The first buffer of a new family, a copy of a full trace's (B, nh, T, T) table. It claims
        nothing (the full trace keeps its own tensor), so the first keystroke may write into it."""
        family = cls(fill)
        with family._lock:
            buffer = family._new_buffer(table, ids, table.size(2))
            family._recent = [buffer]
            return family._grown(buffer, 0)

    def cut(self, source: Grown, length: int) -> Grown:
        """The first `length` rows and columns of `source` (a shorter prompt): a view, nothing written."""
        with self._lock:
            return self._grown(source.buffer, length)

    def extended(self, source: Grown, ids: torch.Tensor, kept: int, new_rows: torch.Tensor,
                 new_columns: torch.Tensor | None) -> Grown:
        """The table of `ids`, whose first `kept` tokens `source` holds, followed by new ones.

        new_rows (B, nh, Tn, T): the new queries against every key; new_columns (B, nh, kept, Tn): the
        earlier queries against the new keys (None: they are self.fill)."""
        T = ids.size(1)
        with self._lock:
            buffer, valid = self._writable(ids, kept, T)
            if buffer is None:
                buffer, valid = self._new_buffer(source.buffer.data[:, :, :kept, :kept], ids[:, :kept], T), kept
            data, old = buffer.data, source.buffer.data
            if valid < kept:  # catch up on the strip this buffer lacks, from the source's buffer
                data[:, :, valid:kept, :kept] = old[:, :, valid:kept, :kept]  # (B, nh, kept - valid, kept)
                data[:, :, :valid, valid:kept] = old[:, :, :valid, valid:kept]  # (B, nh, valid, kept - valid)
            data[:, :, kept:T, :T] = new_rows                                  # (B, nh, Tn, T)
            if new_columns is None:
                data[:, :, :kept, kept:T] = self.fill                          # (B, nh, kept, Tn)
            else:
                data[:, :, :kept, kept:T] = new_columns
            buffer.ids = ids.clone()
            self._recent = [buffer] + [other for other in self._recent if other is not buffer][:1]
            return self._grown(buffer, T)

    def _writable(self, ids: torch.Tensor, kept: int, T: int) -> tuple[SquareBuffer | None, int]:
        """A buffer of this family with room for T, no living view past the rows it would write, and
        the most rows already valid for ids; with how many (at most kept) it has. (None, 0) if none."""
        best, best_valid = None, -1
        for ref in self._buffers:
            buffer = ref()
            if buffer is None or buffer.capacity < T:
                continue
            valid = min(kept, shared_prefix_length(buffer.ids, ids))
            if buffer.claimed() <= valid and valid > best_valid:
                best, best_valid = buffer, valid
        return best, max(best_valid, 0)

    def _new_buffer(self, table: torch.Tensor, ids: torch.Tensor, T: int) -> SquareBuffer:
        """A buffer with room for T plus spare, holding `table` (B, nh, n, n) in its corner."""
        B, nh, n, _ = table.shape
        capacity = T + max(SPARE, T // 4)
        data = table.new_empty((B, nh, capacity, capacity))                 # (B, nh, capacity, capacity)
        data[:, :, :n, :n] = table
        buffer = SquareBuffer(data, ids.clone())
        self._buffers = [ref for ref in self._buffers if ref() is not None] + [weakref.ref(buffer)]
        return buffer

    def _grown(self, buffer: SquareBuffer, length: int) -> Grown:
        view, claim = buffer.claim(length)
        return Grown(view, buffer, self, claim)

