"""The logit lens: read the residual stream after every layer as if it were the last one.

The final norm and the output head turn the last layer's residual stream into the next-token
probabilities. Applying the same two steps to the stream after an earlier layer (or to the
embeddings themselves) shows what the model "would say" at that depth (nostalgebraist, 2020).
The last row is the model's own prediction, exactly.

    lens = logit_lens(model, trace)          # rows: embeddings, after layer 0, ..., after the last layer
    lens.top_ids[row, position]              # (k,) the k likeliest tokens there, likeliest first
    lens.top_probs[row, position]            # (k,) their probabilities
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.model.trace import Trace


@dataclass(frozen=True)
class LogitLens:
    """Top tokens per (row, position): row 0 reads the embeddings, row l + 1 the stream after layer l."""

    rows: tuple[str, ...]  # a label per row: "embeddings", "layer 0", ..., f"layer {n_layers - 1}"
    top_ids: np.ndarray  # (rows, T, k) int64: the k likeliest token ids, likeliest first (T: the positions read)
    top_probs: np.ndarray  # (rows, T, k) float32: their probabilities (each cell's full row sums to 1)

    @property
    def k(self) -> int:
        return self.top_ids.shape[2]


def residual_rows(trace: Trace, n_layers: int, batch: int = 0) -> torch.Tensor:
    """(n_layers + 1, T, C): the residual stream entering block 0 (the embeddings), then after each block."""
    streams = [trace["embed.sum"][batch]] + [trace[f"blocks.{layer}.resid_post"][batch] for layer in range(n_layers)]
    return torch.stack(streams)  # (L+1, T, C)


def row_labels(n_layers: int) -> tuple[str, ...]:
    return ("embeddings", *(f"layer {layer}" for layer in range(n_layers)))


def read_out(model, residual: torch.Tensor) -> torch.Tensor:
    """The logits the output head gives for residual streams (..., C): final norm, then the head."""
    with torch.inference_mode():
        weight = model.lm_head.weight
        normed = model.transformer.ln_f(residual.to(weight.device, weight.dtype))  # (..., C)
        return model.lm_head(normed).float().cpu()  # (..., vocab)


def logit_lens(model, trace: Trace, k: int = 10, batch: int = 0, positions=None) -> LogitLens:
    """The k likeliest next tokens at every (row, position) of `trace`'s prompt (a full trace of `model`).

    positions: the prompt positions to read (all by default). The cost is one output head per row and
    position: nothing for the default model, but GPT-2 at 1,024 tokens would be 13 × 1,024 heads of
    50,257 tokens, so a panel for such a model reads the positions it shows.
    """
    n_layers = model.config.n_layers
    k = max(1, min(k, model.config.vocab_size))
    rows = residual_rows(trace, n_layers, batch)  # (L+1, T, C)
    if positions is not None:
        rows = rows[:, list(positions)]  # (L+1, P, C)
    top_ids, top_probs = [], []
    for row in rows:  # one row at a time: (T, vocab) probabilities at once, not (L+1, T, vocab)
        best = torch.topk(torch.softmax(read_out(model, row), dim=-1), k, dim=-1)  # (T, k) each
        top_ids.append(best.indices)
        top_probs.append(best.values)
    return LogitLens(row_labels(n_layers), torch.stack(top_ids).numpy(), torch.stack(top_probs).numpy())


def unchanged_positions(rows: torch.Tensor, previous_rows: torch.Tensor) -> int:
    """How many positions from the start have exactly the same stream in every row (L+1, T, C) as before."""
    shared = min(rows.shape[1], previous_rows.shape[1])
    same = (rows[:, :shared] == previous_rows[:, :shared]).all(dim=2).all(dim=0)  # (shared,)
    return shared if bool(same.all()) else int(same.int().argmin())


def extend_lens(model, trace: Trace, previous: LogitLens, previous_rows: torch.Tensor, k: int = 10) -> LogitLens:
    """The lens of `trace`, reusing `previous` (read from the residual rows `previous_rows`) where the
    streams have not changed. The model is causal: after a keystroke at the end of the prompt every
    earlier position's stream is the same, so only the positions after them go through the output head
    (one instead of all). Compared exactly, so a what-if or new weights read everything again."""
    rows = residual_rows(trace, model.config.n_layers)  # (L+1, T, C)
    n_tokens = rows.shape[1]
    kept = unchanged_positions(rows, previous_rows) if previous.top_ids.shape[2] == k else 0
    if kept == 0:
        return logit_lens(model, trace, k=k)
    if kept == n_tokens:
        return LogitLens(previous.rows, previous.top_ids[:, :kept], previous.top_probs[:, :kept])
    new = logit_lens(model, trace, k=k, positions=range(kept, n_tokens))
    return LogitLens(
        previous.rows,
        np.concatenate([previous.top_ids[:, :kept], new.top_ids], axis=1),  # (rows, T, k)
        np.concatenate([previous.top_probs[:, :kept], new.top_probs], axis=1),
    )


def lens_probabilities(model, trace: Trace, row: int, position: int, batch: int = 0) -> np.ndarray:
    """(vocab,): the whole next-token distribution of one lens cell (row 0 = embeddings)."""
    n_layers = model.config.n_layers
    if not 0 <= row <= n_layers:
        raise ValueError(f"The logit lens has rows 0 (embeddings) to {n_layers} (after the last layer), not {row}.")
    name = "embed.sum" if row == 0 else f"blocks.{row - 1}.resid_post"
    stream = trace[name][batch, position]  # (C,)
    return torch.softmax(read_out(model, stream), dim=-1).numpy()
