"""Read out (and optionally change) every internal of one forward pass.

    trace = model.trace(ids)
    trace["blocks.0.attn.pattern"]     # (B, n_heads, T, T), each row sums to 1

Names (B = batch, T = tokens, C = d_model, nh = heads, hs = d_head):
    embed.tok (B,T,C)  embed.pos (T,C) or RoPE angles (T,hs/2)  embed.sum (B,T,C)
    blocks.{l}.resid_pre / ln1 / resid_mid / ln2 / resid_post (B,T,C)
    blocks.{l}.attn.q / k / v / z (B,nh,T,hs)   (q and k after RoPE, if any; with grouped-query
        attention k and v are shown once per query head, each head's copy of its group's key/value head)
    blocks.{l}.attn.scores (scaled, before the mask) / masked_scores / pattern (B,nh,T,T)
    blocks.{l}.attn.out (B,T,C)   blocks.{l}.mlp.pre / post (B,T,d_mlp)   blocks.{l}.mlp.out (B,T,C)
        (SwiGLU: pre is the gate before SiLU, post is SiLU(gate) × up)
    ln_final (B,T,C)   logits (B,T,vocab)   probs (B,T,vocab)
embed.pos is zeros for pos_encoding="none". The tensors are recorded without copying, during a pass
under torch.inference_mode, so they are inference tensors: treat them as read-only (an in-place edit
raises an error, though torch has written it by then) and `.clone()` one before editing it or letting
gradients flow through it. Trace.numpy gives read-only arrays.

    trace = model.trace(ids_after_a_keystroke, previous=trace)   # only the new tokens are computed

core/model/kv_cache.py explains how (the earlier tokens' keys and values are the cache); the result is the
same trace a full pass records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType

import functools
import threading
import weakref

import numpy as np
import torch

from core.model.eval_mode import evaluating
from core.model.hooks import Listener
from core.model.intervention import Intervention, check_intervention, intervention_listeners
from core.model.growing_table import Grown, GrowingValue, grown_cache
from core.model.kv_cache import (
    Chunk,
    Joined,
    KVCache,
    depends_on_whole_prompt,
    position_axis,
    score_scale,
    shared_prefix_length,
)


class Trace(Mapping):
    """An immutable record of one forward pass: token ids plus named, detached CPU tensors.

    A trace extended from an earlier one (run_trace's `previous`) holds views of buffers that later
    traces grow in (core/model/growing_table.py): the trace keeps its positions unchanged for as long
    as it lives, so keep the trace (or `.clone()` a value) to keep the numbers, not only a slice read
    from it. The plain way (GROW_IN_PLACE = False) keeps values as chunks of positions
    (core/kv_cache.Joined) and joins each into one tensor the first time it is read; the joined tensor
    is kept, so every read of a name gives the same tensor, from any thread.
    """

    def __init__(
        self,
        ids: torch.Tensor,
        tensors: dict[str, torch.Tensor | Joined | Grown],
        intervention: Intervention | None = None,
        lineage: object | None = None,
    ):
        self._ids = ids.detach().cpu().clone()
        self._tensors = MappingProxyType(dict(tensors))
        self.intervention = intervention or _NOTHING_CHANGED
        self._lineage = lineage or object()  # shared by the traces extended from one another
        self._joined: dict[str, torch.Tensor] = {}
        self._joining = threading.RLock()  # re-entrant: joining scores reads the queries and keys

    @property
    def ids(self) -> torch.Tensor:
        """(B, T) token ids."""
        return self._ids.clone()

    def __getitem__(self, name: str) -> torch.Tensor:
        value = self.stored(name)
        if isinstance(value, Grown):
            return value.view
        if not isinstance(value, Joined):
            return value
        with self._joining:
            if name not in self._joined:
                with torch.inference_mode():  # read-only like every other recorded value
                    self._joined[name] = value.join(self.__getitem__)
            return self._joined[name]

    def stored(self, name: str) -> torch.Tensor | Joined | Grown:
        """The value as kept: a tensor, its chunks while nobody has read it yet, or a grown table."""
        try:
            value = self._tensors[name]
        except KeyError:
            raise KeyError(
                f"This trace has no {name!r}; it recorded {len(self)} names, e.g. {list(self)[:3]}."
            ) from None
        return self._joined.get(name, value)

    @property
    def lineage(self) -> object:
        """Shared by the traces extended from one another (run_trace's `previous`: the same model and
        what-if): two traces of one lineage hold the same values at the leading positions where their
        tokens agree, so a panel that showed one need only redraw what comes after in the other."""
        return self._lineage

    def positions_shared_with(self, other: Trace) -> int:
        """How many leading positions hold the same values in both traces (0 unless of one lineage)."""
        if other._lineage is not self._lineage:
            return 0
        return shared_prefix_length(self._ids, other._ids)

    def __contains__(self, name) -> bool:
        # Mapping's own `in` would read the value, and so join every chunk of an extended trace.
        return name in self._tensors

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def numpy(self, name: str, batch: int | None = 0, head: int | None = None) -> np.ndarray:
        """A read-only numpy copy; by default the first batch row (dropping the B dim); with `head`, only
        that head of a (B, nh, ...) value (a heatmap of one head copies T x T numbers, not nh x T x T)."""
        tensor = self[name]
        if batch is not None and name != "embed.pos":
            tensor = tensor[batch]
            if head is not None:
                tensor = tensor[head]
        array = tensor.float().numpy().copy()
        array.setflags(write=False)
        return array

    def __repr__(self) -> str:
        return f"Trace(tokens={tuple(self._ids.shape)}, names={len(self)})"


NameFilter = Iterable[str] | Callable[[str], bool] | None


def _chosen_hooks(hooks: dict, names: NameFilter) -> tuple[list, bool]:
    """The hook points to record, and whether `probs` is wanted too."""
    if names is None:
        return list(hooks.values()), True
    if callable(names):
        return [hook for name, hook in hooks.items() if names(name)], bool(names("probs"))
    chosen = {names} if isinstance(names, str) else set(names)
    unknown = sorted(chosen - set(hooks) - {"probs"})
    if unknown:
        raise ValueError(
            f"The model has no place called {', '.join(map(repr, unknown))}; names look like "
            "'blocks.0.attn.pattern' (see the list at the top of core/model/trace.py)."
        )
    return [hook for name, hook in hooks.items() if name in chosen], "probs" in chosen


def _as_batch(ids) -> torch.Tensor:
    ids = torch.as_tensor(ids, dtype=torch.long)
    if ids.dim() == 1:
        ids = ids[None, :]  # (T,) -> (1, T)
    if ids.dim() != 2:
        raise ValueError(f"Token ids must be a list or a (batch, tokens) array, not shape {tuple(ids.shape)}.")
    return ids


def _check_ids(ids: torch.Tensor, vocab_size: int) -> None:
    if not ids.numel():
        return
    lowest, highest = (int(end) for end in torch.aminmax(ids))  # one pass over the ids for both ends
    if lowest < 0 or highest >= vocab_size:
        raise ValueError(
            f"Token ids must lie between 0 and {vocab_size - 1} for this model, but the prompt holds "
            f"{lowest} to {highest}; encode it with the model's own tokenizer."
        )


def _recorder(recorded: dict, model) -> Listener:
    """A listener that keeps each value under its name, as float32 on the CPU.

    No copy: every activation is a fresh tensor that nothing writes to again. For the usual float32
    CPU model nothing needs converting either, which is decided once here, not at every point.
    """
    weight = model.transformer.wte.weight
    if weight.dtype == torch.float32 and weight.is_cpu and not torch.is_autocast_enabled("cpu"):

        def record(value, name):
            recorded[name] = value
            return value
    else:

        def record(value, name):
            recorded[name] = value.float().cpu()
            return value

    return record


def _forward(model, ids: torch.Tensor, past: KVCache | None = None) -> torch.Tensor:
    """The model's logits (of the new tokens only, after a cached past); a token id outside the
    vocabulary is a clear error."""
    if not ids.is_cpu:  # on an accelerator a bad id is a device-side assert, so look before leaping
        _check_ids(ids, model.config.vocab_size)
    try:
        logits = model(ids)[0] if past is None else model.forward_cached(ids, past)
    except IndexError:  # on the CPU the embedding refuses a bad id; only then look at the ids
        _check_ids(ids, model.config.vocab_size)
        raise
    return logits


# Values that may be a slice of a table the model keeps (sinusoidal or RoPE): copied after the pass,
# as ordinary tensors, so that editing a trace can never change the model.
_MODEL_TABLES = ("embed.pos",)
_NOTHING_CHANGED = Intervention()  # the what-if of a plain trace; frozen, so one is shared


def run_trace(
    model, ids, names: NameFilter = None, intervention: Intervention | None = None, previous: Trace | None = None
) -> Trace:
    """Run one forward pass in eval mode and record the chosen internals.

    The pass runs under torch.inference_mode (no autograd bookkeeping at all), so the recorded tensors
    are inference tensors: an in-place edit raises an error, and so does using one where gradients
    flow (say, to train a probe on it); take `.clone()` outside the trace first. The model's training
    mode (of every module) and any listeners it already had are left as they were.

    previous: an earlier full trace of the SAME model (weights unchanged). Where the new ids start
    with some of its tokens, those positions are taken from it and only the rest is computed (see
    core/model/kv_cache.py); the result is the same as without it. Ignored where that cannot work.
    """
    intervention = intervention or _NOTHING_CHANGED
    ids = _as_batch(ids).to(model.transformer.wte.weight.device)
    hooks = model.hook_points()
    with tracing_lock(model):  # the recorders hang on the model's own hook points: one trace at a time
        kept = _reusable_prefix(model, hooks, previous, ids, names, intervention)
        if kept:
            return _extend_trace(model, hooks, previous, ids, kept, intervention)
        chosen, probs_wanted = _chosen_hooks(hooks, names)
        recorded: dict[str, torch.Tensor] = {}
        with torch.inference_mode(), evaluating(model):
            logits = _recorded_pass(model, hooks, chosen, recorded, intervention, ids)
            if probs_wanted:
                recorded["probs"] = torch.softmax(logits.float().cpu(), dim=-1)
    for name in _MODEL_TABLES:
        if name in recorded:
            recorded[name] = recorded[name].clone()
    return Trace(ids, recorded, intervention)


_TRACING_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its lock, gone with it
_FINDING_A_LOCK = threading.Lock()


def tracing_lock(model) -> threading.RLock:
    """The lock a trace of `model` holds. A trace attaches its recorder to the model's hook points, so
    two threads tracing the same model at once (the window's worker, and a lesson answering a question
    on the GUI thread) would record each other's values. Kept beside the model, not in it: a lock
    cannot be copied, and models are (the studio fine-tunes a copy)."""
    with _FINDING_A_LOCK:
        lock = _TRACING_LOCKS.get(model)
        if lock is None:
            lock = _TRACING_LOCKS[model] = threading.RLock()
        return lock


def _recorded_pass(
    model,
    hooks: dict,
    chosen: list,
    recorded: dict,
    intervention: Intervention,
    ids: torch.Tensor,
    past: KVCache | None = None,
) -> torch.Tensor:
    """One forward pass (of every token, or of the new ones after a cached past) with the what-if's
    edits and a recorder attached to the chosen hook points, all taken off again afterwards."""
    attached: list[tuple] = []
    if not intervention.is_empty:
        check_intervention(intervention, model.config, ids.size(1) + (past.length if past else 0))
        for name, listeners in intervention_listeners(intervention).items():
            attached.extend((hooks[name], listener) for listener in listeners)
    record = _recorder(recorded, model)
    attached.extend((hook, record) for hook in chosen)  # after the edits: the trace shows what the model used
    try:
        for hook, listener in attached:
            hook.listeners.append(listener)
        return _forward(model, ids, past)
    finally:
        for hook, listener in attached:
            hook.listeners.remove(listener)


# -- the incremental trace (core/model/kv_cache.py explains it) ----------------------------------------------
def _reusable_prefix(
    model, hooks: dict, previous: Trace | None, ids: torch.Tensor, names: NameFilter, intervention: Intervention
) -> int:
    """How many leading positions of `previous` the new trace can keep; 0 means trace in full.

    In full: with no previous trace; when only some names are wanted (the kept trace must hold every
    name, keys and values included, to serve the next one in turn); when the what-if differs from
    the previous trace's or depends on the whole prompt (a mean ablation, replaced patterns); and for
    a model that is not float32 on the CPU (its recorded values are converted copies, not what it
    computes with).
    """
    if previous is None or names is not None or depends_on_whole_prompt(intervention):
        return 0
    if previous.intervention != intervention:
        return 0
    weight = model.transformer.wte.weight
    if weight.dtype != torch.float32 or not weight.is_cpu or torch.is_autocast_enabled("cpu"):
        return 0
    if "probs" not in previous or any(name not in previous for name in hooks):
        return 0
    return shared_prefix_length(previous._ids, ids)


def _extend_trace(
    model, hooks: dict, previous: Trace, ids: torch.Tensor, kept: int, intervention: Intervention
) -> Trace:
    """The trace of ids whose first `kept` tokens `previous` already traced: those positions are
    kept from it, the new ones computed with its keys and values as the cache, and each value grown
    in place by the new positions (core/model/growing_table.py; or, the plain way, joined from its
    chunks when it is first read: core/model/kv_cache.py)."""
    new_ids = ids[:, kept:]  # (B, Tn)
    recorded: dict[str, torch.Tensor] = {}
    ids = ids.detach().cpu().clone()  # the trace's own ids, which the buffers keep as theirs
    shared = functools.cache(lambda buffer_ids: shared_prefix_length(buffer_ids, ids))  # for every name at once
    grown_in_the_pass: dict[str, Grown] = {}  # keys and values the KV cache grew in place
    n_layers = model.config.n_layers
    with torch.inference_mode(), evaluating(model):
        if new_ids.size(1):
            past = GROW_IN_PLACE and grown_cache(previous, kept, n_layers, ids, shared, grown_in_the_pass)
            past = past or KVCache.from_trace(previous, kept, n_layers)
            logits = _recorded_pass(model, hooks, list(hooks.values()), recorded, intervention, new_ids, past)
            recorded["probs"] = torch.softmax(logits, dim=-1)  # (B, Tn, vocab)
            for name in _MODEL_TABLES:
                recorded[name] = recorded[name].clone()
    stored = {}
    with torch.inference_mode():  # a grown value is read-only like every other recorded value
        for name in previous:
            if GROW_IN_PLACE:
                stored[name] = grown_in_the_pass.get(name) or _grown(name, previous, ids, kept, recorded, model, shared)
                continue
            joined = _as_joined(name, previous.stored(name), model).cut(kept)
            stored[name] = joined.then(recorded[name]) if recorded else joined
    trace = Trace(ids, stored, intervention, lineage=previous._lineage)
    for name, joined in stored.items():
        if isinstance(joined, Joined) and len(joined.chunks) > _MOST_CHUNKS:  # a name nobody reads: joined
            trace[name]  # now and then, not piling up
    return trace


_MOST_CHUNKS = 32
# The fast path: every value grown in place by the new positions (core/model/growing_table.py). False
# keeps values as chunks joined when read, the plain way (Joined), which copies every position (and a
# (T, T) table's T x T) on each keystroke; tests/core/test_kv_cache.py shows the two agree.
GROW_IN_PLACE = True


def _grown(name: str, previous: Trace, ids: torch.Tensor, kept: int, recorded: dict, model, shared) -> Grown:
    """`name` of ids: `previous`'s first kept positions, then the new ones. In a (T, T) table the
    earlier queries' columns for the new keys are masked (-inf, 0), or in the scores their q·k."""
    value = previous.stored(name)
    if not isinstance(value, Grown):  # the first keystroke after a full trace: start a family of buffers
        fill = float("-inf") if name.endswith(".masked_scores") else 0.0 if name.endswith(".pattern") else None
        value = GrowingValue.start(name, previous[name], previous._ids, fill)
    if not recorded:
        return value.family.cut(value, kept)
    new_columns = None
    if name.endswith(".attn.scores"):
        layer = name.rsplit(".", 2)[0]  # "blocks.{l}"
        query = previous[f"{layer}.attn.q"][:, :, :kept]  # (B, nh, kept, hs)
        key = recorded[f"{layer}.attn.k"]  # (B, nh, Tn, hs)
        new_columns = torch.matmul(query, key.transpose(2, 3)) * score_scale(model, name)  # (B, nh, kept, Tn)
    return value.family.extended(value, ids, kept, recorded[name], new_columns, shared)


def _as_joined(name: str, value: torch.Tensor | Joined, model) -> Joined:
    if isinstance(value, Joined):
        return value
    return Joined(name, (Chunk(0, value),), value.size(position_axis(name)), score_scale(model, name))
