"""Head detectors: a number per attention head that says which well-known job it does.

Each score is an average amount of attention (so it lies between 0 and 1) that a head puts where a
head with that job would put it:

- previous_token: every token looks at the one just before it.
- first_token:    every token looks at position 0 (a "resting place" when nothing else matters).
- positional:     attention sits at one fixed distance back, whatever the tokens are (a diagonal
                  stripe in the pattern); the score is the mass on the best such distance.
- induction:      on a random sequence shown twice, a token in the second copy looks at the token
                  that FOLLOWED its earlier occurrence ("... A B ... A -> look at B"), which lets the
                  model copy B. Measured on a probe made by `induction_probe`.

    probe = induction_probe(vocab_size=model.config.vocab_size, length=32, seed=0)
    scores = head_scores(model.trace(probe))          # {name: (n_layers, n_heads)}
    scores["induction"][1, 0]                          # how induction-like is layer 1, head 0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

DETECTORS = ("previous_token", "induction", "first_token", "positional")

# One sentence per detector, for tooltips and legends.
DETECTOR_EXPLANATIONS = {
    "previous_token": "How much each token attends to the token right before it.",
    "induction": "On a repeated random sequence, how much a token attends to the token that followed "
    "its earlier copy (the head that lets a model continue a pattern it has seen).",
    "first_token": "How much each token attends to the very first position.",
    "positional": "How much attention sits at one fixed distance back, whatever the tokens are.",
}


# -- the probe -----------------------------------------------------------------------------------------
def induction_probe(
    vocab_size: int, length: int, seed: int = 0, batch: int = 4, token_ids: Sequence[int] | None = None
) -> torch.Tensor:
    """(batch, 2·length) token ids: `length` random tokens, then the same tokens again.

    Tokens are drawn from `token_ids` (default: every id below vocab_size), without repeats inside
    one copy when there are enough of them, so "where did this token occur before?" has one answer.
    """
    pool = np.arange(vocab_size) if token_ids is None else np.asarray(sorted(set(token_ids)))
    if length < 2:
        raise ValueError(f"The induction probe needs at least 2 random tokens, not {length}.")
    if len(pool) < 2:
        raise ValueError("The induction probe needs a vocabulary of at least 2 tokens.")
    generator = np.random.default_rng(seed)
    rows = []
    for _ in range(batch):
        half = generator.choice(pool, size=length, replace=len(pool) < length)
        rows.append(np.concatenate([half, half]))
    return torch.as_tensor(np.stack(rows), dtype=torch.long)  # (batch, 2·length)


def repeat_period(ids: torch.Tensor) -> int | None:
    """The length of the random half if every row of ids (B, T) is one sequence shown twice."""
    ids = torch.as_tensor(ids)
    if ids.dim() == 1:
        ids = ids[None, :]  # (T,) -> (1, T)
    T = ids.shape[1]
    if T < 4 or T % 2:
        return None
    half = T // 2
    return half if torch.equal(ids[:, :half], ids[:, half:]) else None


# -- scores of one (B, nh, T, T) attention pattern --------------------------------------------------------
def _diagonal_mass(pattern: np.ndarray, offset: int) -> np.ndarray:
    """(B, nh, T, T) -> (nh,): mean attention from query i to key i - offset, over every i >= offset."""
    T = pattern.shape[-1]
    queries = np.arange(offset, T)
    return pattern[:, :, queries, queries - offset].mean(axis=(0, 2))


def previous_token_score(pattern: np.ndarray) -> np.ndarray:
    return _diagonal_mass(pattern, 1)


def first_token_score(pattern: np.ndarray) -> np.ndarray:
    # Position 0 itself is left out: its only choice is itself, so it says nothing about the head.
    return pattern[:, :, 1:, 0].mean(axis=(0, 2))


def positional_offsets(pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(best score, best offset) per head, over offsets 0..T/2 (so each average covers half the rows)."""
    T = pattern.shape[-1]
    per_offset = np.stack([_diagonal_mass(pattern, d) for d in range(T // 2 + 1)])  # (offsets, nh)
    return per_offset.max(axis=0), per_offset.argmax(axis=0)


def induction_score(pattern: np.ndarray, period: int) -> np.ndarray:
    """Mean attention from query period+i to key i+1 (the token after the earlier copy), i = 0..period-2."""
    i = np.arange(period - 1)
    return pattern[:, :, period + i, i + 1].mean(axis=(0, 2))


# -- every head of a trace -------------------------------------------------------------------------------
def attention_patterns(trace) -> list[np.ndarray]:
    """The (B, nh, T, T) pattern of every layer, in order, as float numpy arrays."""
    patterns = []
    layer = 0
    while f"blocks.{layer}.attn.pattern" in trace:
        patterns.append(trace[f"blocks.{layer}.attn.pattern"].float().numpy())
        layer += 1
    if not patterns:
        raise ValueError("This trace recorded no attention patterns; trace with the 'attn.pattern' names included.")
    return patterns


def head_scores(trace, period: int | None = None) -> dict[str, np.ndarray]:
    """{detector name: (n_layers, n_heads) scores in [0, 1]} for every head of the trace.

    The induction score needs a trace of a repeated sequence (see `induction_probe`); the period is
    found from the trace's ids when not given, and the score is NaN when the ids do not repeat.
    """
    period = period or repeat_period(trace.ids)
    rows: dict[str, list[np.ndarray]] = {name: [] for name in DETECTORS}
    for pattern in attention_patterns(trace):
        rows["previous_token"].append(previous_token_score(pattern))
        rows["first_token"].append(first_token_score(pattern))
        rows["positional"].append(positional_offsets(pattern)[0])
        if period:
            rows["induction"].append(induction_score(pattern, period))
        else:
            rows["induction"].append(np.full(pattern.shape[1], np.nan))
    return {name: np.stack(values) for name, values in rows.items()}


def pattern_names(n_layers: int) -> list[str]:
    """The trace names the detectors read, so a trace can record only those."""
    return [f"blocks.{layer}.attn.pattern" for layer in range(n_layers)]


def model_head_scores(model, probe: torch.Tensor, text_ids=None) -> dict[str, np.ndarray]:
    """Score every head: induction on the repeated-random `probe`; the other detectors on `text_ids`
    (e.g. a prompt from the training text, where heads show what they learned) or, without it, on the probe.
    """
    names = pattern_names(model.config.n_layers)
    scores = head_scores(model.trace(probe, names=names))
    if text_ids is not None and len(text_ids) >= 2:
        on_text = head_scores(model.trace(text_ids, names=names))
        scores = {**on_text, "induction": scores["induction"]}
    return scores
