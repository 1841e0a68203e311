"""The small bits of maths the explorer's panels show: projections, similarities, attention steps.

Everything takes and returns numpy arrays, so it works the same in a notebook as in the app:

    steps = attention_steps(model.trace(ids), layer=0, head=1)
    steps.dot_products     # (T, T) q_i · k_j
    steps.pattern          # (T, T) after the softmax, rows sum to 1
    pca_2d(model.transformer.wte.weight.detach().numpy())   # (vocab, 2) map of the vocabulary
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from core.model.trace import Trace

_TINY = 1e-12  # keeps a zero vector from dividing by zero: its cosine with anything is 0


# -- similarity ------------------------------------------------------------------------------------
def unit_rows(rows: np.ndarray) -> np.ndarray:
    """Each row divided by its length, so a dot product of two rows is their cosine."""
    rows = np.asarray(rows, dtype=np.float64)
    lengths = np.linalg.norm(rows, axis=-1, keepdims=True)  # (N, 1)
    return rows / np.maximum(lengths, _TINY)


def cosine_similarity_matrix(rows: np.ndarray) -> np.ndarray:
    """(N, N): the cosine of the angle between every pair of rows (1 = same direction)."""
    unit = unit_rows(rows)  # (N, C)
    return np.clip(unit @ unit.T, -1.0, 1.0)


def nearest_neighbours(matrix: np.ndarray, index: int, k: int = 10) -> list[tuple[int, float]]:
    """The k rows pointing most nearly the same way as row `index` (itself left out), best first."""
    rows = np.asarray(matrix, dtype=np.float32)  # no float64 copy: GPT-2's vocabulary is 50,257 × 768
    if not 0 <= index < len(rows):
        raise ValueError(f"There is no row {index}; the matrix has {len(rows)} rows.")
    k = max(0, min(k, len(rows) - 1))
    if k == 0:
        return []
    target = rows[index]
    lengths = np.sqrt(np.einsum("ij,ij->i", rows, rows))  # (N,) without an (N, C) temporary
    cosines = (rows @ target) / np.maximum(lengths * lengths[index], _TINY)  # (N,)
    cosines[index] = -np.inf  # a token is not its own neighbour
    best = np.argpartition(-cosines, k - 1)[:k]
    best = best[np.argsort(-cosines[best], kind="stable")]
    return [(int(i), float(cosines[i])) for i in best]


# -- a 2-D map of the vocabulary -----------------------------------------------------------------
def pca_2d(matrix: np.ndarray) -> np.ndarray:
    """(N, 2): each row placed on the two directions along which the rows differ most.

    Signs are fixed (the largest coordinate along each axis is positive), so the same
    embeddings always give the same picture.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or len(matrix) == 0:
        raise ValueError(f"PCA needs a (rows, columns) matrix with at least one row, not shape {matrix.shape}.")
    centred = matrix - matrix.mean(axis=0, dtype=np.float64).astype(np.float32)  # (N, C)
    # (C, C): cheaper than an SVD of N rows. Torch's matrix product, because numpy's (OpenBLAS) took 4x as
    # long for a 49k-token vocabulary, its threads competing with torch's for the same cores.
    rows = torch.from_numpy(centred)
    covariance = (rows.T @ rows).double()  # (C, C)
    _, directions = torch.linalg.eigh(covariance)  # ascending eigenvalues
    directions = directions.numpy()[:, ::-1][:, :2]  # (C, ≤2): the two largest
    projection = centred @ directions.astype(np.float32)  # (N, ≤2)
    if projection.shape[1] < 2:  # a 1-D embedding: second axis is 0
        projection = np.pad(projection, ((0, 0), (0, 2 - projection.shape[1])))
    flip = np.sign(projection[np.abs(projection).argmax(axis=0), [0, 1]])
    return (projection * np.where(flip == 0, 1.0, flip)).astype(np.float32)


# -- colour scales -----------------------------------------------------------------------------------
def symmetric_range(*arrays: np.ndarray) -> tuple[float, float]:
    """(-m, m) around 0 for a diverging colour map, m the largest finite |value| rounded up to a round
    number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k), so the colour bar does not jump with every keystroke."""
    largest = 0.0
    for values in arrays:
        values = np.asarray(values)
        finite = values[np.isfinite(values)]
        if finite.size:
            largest = max(largest, float(np.abs(finite).max()))
    if largest == 0.0:
        return -1.0, 1.0  # all zeros: any range will do
    return -round_up(largest), round_up(largest)


def round_up(value: float) -> float:
    """The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) at least `value` (> 0)."""
    scale = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if step * scale >= value * (1 - 1e-9):
            return step * scale
    return 10.0 * scale


# -- attention, one step at a time -------------------------------------------------------------------
@dataclass(frozen=True)
class AttentionSteps:
    """Every matrix on the way from queries and keys to the attention pattern, for one head."""

    query: np.ndarray  # (T, hs) what each token is looking for
    key: np.ndarray  # (T, hs) what each token offers to be found by
    value: np.ndarray  # (T, hs) what each token passes on when attended to
    dot_products: np.ndarray  # (T, T) q_i · k_j
    scores: np.ndarray  # (T, T) q_i · k_j / √d_head
    masked_scores: np.ndarray  # (T, T) scores with the future (j > i) set to -inf
    pattern: np.ndarray  # (T, T) softmax of each row: how much query i takes from key j
    future: np.ndarray  # (T, T) bool, True where key j comes after query i (masked)
    d_head: int  # dimensions per head; the scale is √d_head

    def cell(self, query: int, key: int) -> dict:
        """The numbers behind one cell of the pattern, in the order they are computed."""
        return dict(
            dot_product=float(self.dot_products[query, key]),
            scaled=float(self.scores[query, key]),
            masked=bool(self.future[query, key]),
            probability=float(self.pattern[query, key]),
        )


def causal_future(n_tokens: int) -> np.ndarray:
    """(T, T) bool: True above the diagonal, where a query would see a later token."""
    return np.triu(np.ones((n_tokens, n_tokens), dtype=bool), k=1)


def attention_steps(trace: Trace, layer: int, head: int, scaled: bool = True) -> AttentionSteps:
    """Read one head's Q, K, V and its attention chain out of a trace.

    scaled=False for a model whose scores are not divided by √d_head (GPT-Neo's).
    """
    name = f"blocks.{layer}.attn"
    query = trace.numpy(f"{name}.q", head=head)  # (T, hs)
    scores = trace.numpy(f"{name}.scores", head=head)  # (T, T), already ÷ √d_head if scaled
    masked_scores = trace.numpy(f"{name}.masked_scores", head=head)  # (T, T)
    d_head = query.shape[-1]
    return AttentionSteps(
        query=query,
        key=trace.numpy(f"{name}.k", head=head),
        value=trace.numpy(f"{name}.v", head=head),
        dot_products=scores * math.sqrt(d_head) if scaled else scores,  # undo the scale: the raw q·k
        scores=scores,
        masked_scores=masked_scores,
        pattern=trace.numpy(f"{name}.pattern", head=head),
        # the causal future, and in a local-attention layer also the keys too far back
        future=causal_future(len(query)) | np.isneginf(masked_scores),
        d_head=d_head,
    )


def all_patterns(trace: Trace, n_layers: int) -> np.ndarray:
    """(n_layers, n_heads, T, T): every head's attention pattern, for the small-multiples grid."""
    return np.stack([trace.numpy(f"blocks.{layer}.attn.pattern") for layer in range(n_layers)])


def strongest_keys(pattern_row: np.ndarray, k: int = 3) -> list[tuple[int, float]]:
    """The k keys one query attends to most, as (key index, weight), biggest first."""
    order = np.argsort(-np.asarray(pattern_row), kind="stable")[:k]
    return [(int(j), float(pattern_row[j])) for j in order]


# -- positions -------------------------------------------------------------------------------------
def default_curve_dimensions(width: int, count: int = 4) -> list[int]:
    """A few dimensions worth plotting as curves: 0 and then ever slower ones (even = sine for sinusoids)."""
    candidates = [0] + [2 * ((width // divisor) // 2) for divisor in (16, 8, 4, 2)]
    chosen: list[int] = []
    for dim in candidates:
        if dim < width and dim not in chosen:
            chosen.append(dim)
    return chosen[:count]


def rope_rotations(angles: np.ndarray) -> np.ndarray:
    """(T, hs): the unit vectors (cos θ, sin θ) each pair of dims is turned to, side by side per pair.

    Their cosine similarity between two positions depends only on how far apart the positions are,
    which is how RoPE makes attention see relative distance.
    """
    angles = np.asarray(angles, dtype=np.float64)  # (T, hs/2)
    return np.stack([np.cos(angles), np.sin(angles)], axis=-1).reshape(len(angles), -1)  # (T, hs)


def wrapped_angles(angles: np.ndarray) -> np.ndarray:
    """Angles folded into [0, 2π): where on the circle each pair has been turned to."""
    return np.mod(np.asarray(angles, dtype=np.float64), 2 * math.pi)


@lru_cache(maxsize=8)
def positional_table(
    scheme: str,
    context_length: int,
    d_model: int,
    d_head: int,
    rope_theta: float = 10000.0,
    rotary_dims: int | None = None,
) -> np.ndarray | None:
    """The fixed positional table for every position of the context, or None when it is learned/absent.

    sinusoidal: (context, d_model) values added to the tokens; rope: (context, rotary_dims/2) angles
    (rotary_dims = d_head unless only part of each head turns), with the model's base rope_theta.
    Made by the same functions the model uses, so it equals the trace's rows for the prompt.
    Read-only, and made once per shape.
    """
    from core.model.positional import rope_angles, sinusoidal_table

    if scheme == "sinusoidal":
        table = sinusoidal_table(context_length, d_model).numpy()
    elif scheme == "rope":
        table = rope_angles(context_length, rotary_dims or d_head, rope_theta).numpy()
    else:
        return None
    table.setflags(write=False)
    return table
