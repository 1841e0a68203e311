"""Activation patching: which parts of the model carry the difference between two prompts?

Run a clean prompt ("When Mary and John went to the store, John gave a drink to" → " Mary") and a
corrupted one that differs in the detail that matters (the same with another name) and record both.
Then run the corrupted prompt again, copying ONE value from the clean run: one head's output, or the
residual stream at one (layer, position). If the answer comes back, that value carried it.

The measure is the logit difference answer − wrong at the last position, normalised so that
0 = the corrupted run and 1 = the clean run:   (patched − corrupted) / (clean − corrupted).

    pair = patching_pair(model, clean_ids, corrupted_ids, answer=mary, wrong=john)
    heads = sweep_heads(model, pair, progress=print, cancel=event)   # heads.scores (n_layers, n_heads)
    stream = sweep_residual(model, pair)                              # stream.scores (n_layers, T)

A sweep runs many patched passes in batches (one batch row per patch) and starts each batch at the
first layer it patches: everything before it is the corrupted run, already recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from core.explain.alignment import check_same_length
from core.explain.attribution import check_tokens
from core.model.eval_mode import evaluating
from core.model.model import AttentionMasks
from core.model.trace import Trace, tracing_lock

Progress = Callable[[int, int], None]  # (patches done, patches in all)
KINDS = ("heads", "residual")  # what a sweep patches: head outputs, or the stream at (layer, position)


@dataclass(frozen=True)
class PatchingPair:
    """A clean and a corrupted run of the same length, and the answer that tells them apart."""

    clean: Trace  # full trace of the clean prompt (batch of 1)
    corrupted: Trace  # full trace of the corrupted prompt (batch of 1), same token count
    answer: int  # the token the clean prompt should predict
    wrong: int | None  # the token the corrupted one favours; None measures answer's logit alone
    clean_score: float  # logit difference answer − wrong at the clean run's last position
    corrupted_score: float  # the same at the corrupted run's last position

    @property
    def n_tokens(self) -> int:
        return self.clean.ids.shape[1]

    def normalised(self, score):
        """0 = corrupted, 1 = clean (a float or an array of raw logit differences)."""
        return (score - self.corrupted_score) / (self.clean_score - self.corrupted_score)


@dataclass(frozen=True)
class SweepResult:
    """One sweep's outcome; cells not reached (after a cancel) are NaN."""

    kind: str  # "heads" or "residual"
    scores: np.ndarray  # (n_layers, n_heads) or (n_layers, T): normalised logit difference
    raw: np.ndarray  # the same cells as raw logit differences answer − wrong
    done: int  # patched runs finished
    total: int  # patched runs in the whole sweep
    cancelled: bool  # stopped by the cancel flag before the end
    seconds: float  # wall time the sweep took


@dataclass(frozen=True)
class SweepEstimate:
    """What a sweep will cost, measured before it starts."""

    forward_passes: int  # patched runs (one per head, or per (layer, position))
    batch_size: int  # runs per batch
    batches: int  # batched passes
    seconds_per_batch: float  # measured: one full batch through every layer
    seconds: float  # seconds_per_batch × the batches, each counted for the layers it runs


def logit_difference(logits: torch.Tensor, answer: int, wrong: int | None) -> torch.Tensor:
    """logits (..., vocab) -> (...,): answer's logit minus wrong's (or answer's alone)."""
    difference = logits[..., answer]
    return difference if wrong is None else difference - logits[..., wrong]


def patching_pair(model, clean_ids, corrupted_ids, answer: int, wrong: int | None = None) -> PatchingPair:
    """Trace both prompts and measure them. Raises ValueError when their token counts differ (saying
    what aligns; core.explain.alignment pads or cuts), when a token id is outside the vocabulary, or
    when both prompts give the same score (nothing to restore)."""
    check_same_length(clean_ids, corrupted_ids)
    check_tokens(model.config.vocab_size, answer, wrong)
    clean, corrupted = model.trace(clean_ids), model.trace(corrupted_ids)
    return pair_from_traces(clean, corrupted, answer, wrong)


def pair_from_traces(clean: Trace, corrupted: Trace, answer: int, wrong: int | None = None) -> PatchingPair:
    """A PatchingPair from two full traces the caller already has (the app's two prompts)."""
    check_same_length(clean.ids[0].tolist(), corrupted.ids[0].tolist())
    clean_score = float(logit_difference(clean["logits"][0, -1], int(answer), wrong))
    corrupted_score = float(logit_difference(corrupted["logits"][0, -1], int(answer), wrong))
    if abs(clean_score - corrupted_score) < 1e-6:
        raise ValueError(
            "Both prompts give the answer the same logit difference, so there is nothing for patching to "
            "restore; change the corrupted prompt where it matters (say, the other name)."
        )
    return PatchingPair(
        clean, corrupted, int(answer), None if wrong is None else int(wrong), clean_score, corrupted_score
    )


# -- one batch of patched runs ----------------------------------------------------------------------------
Patch = tuple[str, int, int]  # ("head", layer, head) or ("residual", layer, position)


def _listeners(pair: PatchingPair, patches: Sequence[Sequence[Patch]]) -> dict[str, Callable]:
    """hook name -> a listener that writes the clean values into the batch rows that patch there.
    patches[row] lists every patch of that row (one in a sweep; several for run_patched)."""
    by_hook: dict[str, list[tuple[int, str, int]]] = {}
    for row, row_patches in enumerate(patches):
        for kind, layer, index in row_patches:
            hook = f"blocks.{layer}.attn.z" if kind == "head" else f"blocks.{layer}.resid_pre"
            by_hook.setdefault(hook, []).append((row, kind, index))

    def listener_for(hook: str, edits: list) -> Callable:
        clean_value = pair.clean[hook][0]  # (nh, T, hs) or (T, C)

        def patch(value: torch.Tensor, name: str) -> torch.Tensor:
            value = value.clone()  # (B, nh, T, hs) or (B, T, C)
            for row, _kind, index in edits:
                value[row, index] = clean_value[index].to(value.device, value.dtype)  # a head, or a position
            return value

        return patch

    return {hook: listener_for(hook, edits) for hook, edits in by_hook.items()}


def _run_from_layer(
    model, start: torch.Tensor, first_layer: int, columns: list[int], listeners: dict[str, Callable]
) -> torch.Tensor:
    """Blocks first_layer.. on `start` (B, T, C) with the patches attached, then the logits of the
    tokens `columns` at the last position only, (B, len(columns)): the full output head over every
    position and token is as much work as GPT-2's twelve blocks at 16 tokens."""
    config = model.config
    T = start.size(1)
    hooks = model.hook_points()
    rope = model.rope[:T] if config.pos_encoding == "rope" else None
    masks = AttentionMasks(T, start.device)
    attached = [(hooks[name], listener) for name, listener in listeners.items()]
    with tracing_lock(model), torch.inference_mode(), evaluating(model):
        try:
            for hook, listener in attached:
                hook.listeners.append(listener)
            x = start
            for block in model.transformer.h[first_layer:]:
                x = block(x, rope, masks)  # (B, T, C)
        finally:
            for hook, listener in attached:
                hook.listeners.remove(listener)
        last = model.transformer.ln_f(x[:, -1])  # (B, C)
        return (last @ model.lm_head.weight[columns].T).float().cpu()  # (B, len(columns))


def _run_batch(model, pair: PatchingPair, patches: Sequence[Sequence[Patch]]) -> torch.Tensor:
    """(len(patches),) raw logit differences, one corrupted run per row with that row's patches."""
    layers = [layer for row in patches for _, layer, _ in row]
    first_layer = min(layers, default=model.config.n_layers)
    weight = model.lm_head.weight
    if first_layer == model.config.n_layers:  # nothing patched: the corrupted run's own last stream
        start_name = f"blocks.{first_layer - 1}.resid_post"
    else:
        start_name = f"blocks.{first_layer}.resid_pre"
    start = pair.corrupted[start_name][:1].to(weight.device, weight.dtype)  # (1, T, C)
    start = start.expand(len(patches), -1, -1).clone()  # (B, T, C)
    columns = [pair.answer] if pair.wrong is None else [pair.answer, pair.wrong]
    logits = _run_from_layer(model, start, first_layer, columns, _listeners(pair, patches))  # (B, 1 or 2)
    return logit_difference(logits, 0, None if pair.wrong is None else 1)


def run_patched(
    model, pair: PatchingPair, heads: Sequence[tuple[int, int]] = (), residual: Sequence[tuple[int, int]] = ()
) -> float:
    """The raw logit difference of ONE corrupted run with every given patch at once:
    heads [(layer, head)], residual [(layer, position)] (the stream entering that layer)."""
    _check_places(model, pair, heads, residual)
    patches = [("head", layer, head) for layer, head in heads] + [
        ("residual", layer, position) for layer, position in residual
    ]
    return float(_run_batch(model, pair, [patches])[0])


def _check_places(model, pair: PatchingPair, heads, residual) -> None:
    config = model.config
    for layer, head in heads:
        if not (0 <= layer < config.n_layers and 0 <= head < config.n_heads):
            raise ValueError(
                f"Layer {layer}, head {head} does not exist in this model "
                f"({config.n_layers} layers of {config.n_heads} heads)."
            )
    for layer, position in residual:
        if not (0 <= layer < config.n_layers and 0 <= position < pair.n_tokens):
            raise ValueError(
                f"Layer {layer}, position {position} does not exist here "
                f"({config.n_layers} layers, {pair.n_tokens} positions)."
            )


# -- sweeps ----------------------------------------------------------------------------------------------
def sweep_places(model, pair: PatchingPair, kind: str) -> list[Patch]:
    """Every place a sweep patches, in order: heads layer by layer, or (layer, position) row by row."""
    if kind not in KINDS:
        raise ValueError(f"Unknown sweep {kind!r}; choose 'heads' or 'residual'.")
    config = model.config
    width = config.n_heads if kind == "heads" else pair.n_tokens
    name = "head" if kind == "heads" else "residual"
    return [(name, layer, index) for layer in range(config.n_layers) for index in range(width)]


def sweep(
    model,
    pair: PatchingPair,
    kind: str,
    batch_size: int = 16,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> SweepResult:
    """Patch every head ("heads") or every (layer, position) ("residual"), one place per patched run.

    progress(done, total) is called after every batch; setting `cancel` stops before the next batch,
    and the result says so (cells not reached are NaN). Safe to run in a worker thread.
    """
    if batch_size < 1:
        raise ValueError(f"A batch holds at least one patched run, not {batch_size}.")
    places = sweep_places(model, pair, kind)
    width = model.config.n_heads if kind == "heads" else pair.n_tokens
    raw = np.full(len(places), np.nan)
    began, done = time.perf_counter(), 0
    for first in range(0, len(places), batch_size):
        if cancel is not None and cancel.is_set():
            break
        batch = places[first : first + batch_size]
        raw[first : first + len(batch)] = _run_batch(model, pair, [[place] for place in batch]).numpy()
        done += len(batch)
        if progress is not None:
            progress(done, len(places))
    raw = raw.reshape(model.config.n_layers, width)
    return SweepResult(
        kind, pair.normalised(raw), raw, done, len(places), done < len(places), time.perf_counter() - began
    )


def sweep_heads(
    model,
    pair: PatchingPair,
    batch_size: int = 16,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> SweepResult:
    """Every head's output patched in turn: scores (n_layers, n_heads)."""
    return sweep(model, pair, "heads", batch_size, progress, cancel)


def sweep_residual(
    model,
    pair: PatchingPair,
    batch_size: int = 16,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> SweepResult:
    """The stream entering each layer at each position patched in turn: scores (n_layers, T)."""
    return sweep(model, pair, "residual", batch_size, progress, cancel)


def estimate_sweep(model, n_tokens: int, kind: str = "heads", batch_size: int = 16) -> SweepEstimate:
    """The cost of a sweep on prompts of n_tokens, from one measured batch through every layer (run on
    random streams: the time does not depend on the values), scaled by the layers each batch runs
    (a batch starts at the first layer it patches)."""
    config = model.config
    if not 1 <= n_tokens <= config.context_length:
        raise ValueError(f"The prompts need 1 to {config.context_length} tokens, not {n_tokens}.")
    if kind not in KINDS:
        raise ValueError(f"Unknown sweep {kind!r}; choose 'heads' or 'residual'.")
    width = config.n_heads if kind == "heads" else n_tokens
    passes = config.n_layers * width
    rows = min(batch_size, passes)
    weight = model.lm_head.weight
    _run_from_layer(model, torch.randn(1, 1, config.d_model, device=weight.device, dtype=weight.dtype), 0, [0], {})
    start = torch.randn(rows, n_tokens, config.d_model, device=weight.device, dtype=weight.dtype)  # (B, T, C)
    began = time.perf_counter()  # after a one-token pass, which paid the one-off start-up costs
    _run_from_layer(model, start, 0, [0, 1], {})
    seconds = time.perf_counter() - began
    first_layers = [first // width for first in range(0, passes, batch_size)]  # each batch's first layer
    share = sum(config.n_layers - layer for layer in first_layers) / config.n_layers
    return SweepEstimate(passes, batch_size, len(first_layers), seconds, share * seconds)
