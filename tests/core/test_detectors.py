"""Head detectors on attention patterns made by hand, where the right score is known exactly."""

import numpy as np
import pytest
import torch

from core.model.config import GPTConfig
from core.teaching.detectors import (
    DETECTORS,
    head_scores,
    induction_probe,
    model_head_scores,
    positional_offsets,
    repeat_period,
)
from core.model.model import GPT
from core.model.trace import Trace

T = 8


def causal_uniform() -> np.ndarray:
    """Every query spreads its attention evenly over itself and the past."""
    mask = np.tril(np.ones((T, T)))
    return mask / mask.sum(axis=1, keepdims=True)


def previous_token_pattern() -> np.ndarray:
    pattern = np.zeros((T, T))
    pattern[0, 0] = 1.0
    pattern[np.arange(1, T), np.arange(T - 1)] = 1.0
    return pattern


def first_token_pattern() -> np.ndarray:
    pattern = np.zeros((T, T))
    pattern[:, 0] = 1.0
    return pattern


def offset_pattern(offset: int) -> np.ndarray:
    """Attend exactly `offset` tokens back (or to position 0 when there is no such token)."""
    pattern = np.zeros((T, T))
    for query in range(T):
        pattern[query, max(0, query - offset)] = 1.0
    return pattern


def induction_pattern(period: int) -> np.ndarray:
    """In the second copy, query period+i looks at key i+1; elsewhere uniform."""
    pattern = causal_uniform()
    for i in range(period - 1):
        pattern[period + i] = 0.0
        pattern[period + i, i + 1] = 1.0
    return pattern


def fake_trace(layers: list[list[np.ndarray]], ids=None) -> Trace:
    """A trace holding the given (T, T) pattern for each layer's heads, batch of 1."""
    tensors = {
        f"blocks.{layer}.attn.pattern": torch.tensor(np.stack(heads)[None], dtype=torch.float32)  # (1, nh, T, T)
        for layer, heads in enumerate(layers)
    }
    ids = torch.arange(T)[None] if ids is None else torch.as_tensor(ids)[None]
    return Trace(ids, tensors)


def test_each_hand_made_head_scores_one_on_its_own_detector():
    repeated = [3, 1, 4, 2, 3, 1, 4, 2]  # a sequence of 4, shown twice
    trace = fake_trace(
        [[previous_token_pattern(), first_token_pattern()], [induction_pattern(4), offset_pattern(3)]], ids=repeated
    )
    scores = head_scores(trace)
    assert set(scores) == set(DETECTORS)
    assert all(s.shape == (2, 2) for s in scores.values())
    assert scores["previous_token"][0, 0] == pytest.approx(1.0)
    assert scores["first_token"][0, 1] == pytest.approx(1.0)
    assert scores["induction"][1, 0] == pytest.approx(1.0)
    assert scores["positional"][1, 1] == pytest.approx(1.0)
    # A previous-token head is positional too (offset 1): the positional score is content-blind.
    assert scores["positional"][0, 0] == pytest.approx(1.0)
    # ...but it is not an induction head, and an induction head is not a previous-token head.
    assert scores["induction"][0, 0] == pytest.approx(0.0)
    # Rows 1-3 and the last row are uniform (1/(q+1) on the previous key); rows 4-6 look elsewhere.
    assert scores["previous_token"][1, 0] == pytest.approx((1 / 2 + 1 / 3 + 1 / 4 + 1 / 8) / 7)


def test_uniform_attention_scores_match_the_arithmetic():
    trace = fake_trace([[causal_uniform()]])
    scores = head_scores(trace)
    # Query q spreads 1/(q+1) over q+1 keys, so each detector sees the mean of 1/(q+1) over its rows.
    expected_previous = np.mean([1 / (q + 1) for q in range(1, T)])
    assert scores["previous_token"][0, 0] == pytest.approx(expected_previous)
    assert scores["first_token"][0, 0] == pytest.approx(expected_previous)
    # Offset 0 includes query 0, whose whole attention is on itself: the largest diagonal mass.
    assert scores["positional"][0, 0] == pytest.approx(np.mean([1 / (q + 1) for q in range(T)]))
    # These ids do not repeat, so induction cannot be measured.
    assert np.isnan(scores["induction"][0, 0])


def test_best_offset_is_found():
    pattern = np.stack([offset_pattern(2), offset_pattern(0)])[None]  # (1, 2, T, T)
    best, offset = positional_offsets(pattern)
    assert list(offset) == [2, 0]
    assert best == pytest.approx([1.0, 1.0])


def test_induction_probe_repeats_a_sequence_without_inner_repeats():
    probe = induction_probe(vocab_size=50, length=10, seed=3, batch=2)
    assert probe.shape == (2, 20)
    assert repeat_period(probe) == 10
    assert all(len(set(row[:10].tolist())) == 10 for row in probe)
    assert torch.equal(probe, induction_probe(vocab_size=50, length=10, seed=3, batch=2))
    restricted = induction_probe(vocab_size=50, length=4, seed=0, token_ids=[7, 8, 9, 10, 11])
    assert set(restricted.flatten().tolist()) <= {7, 8, 9, 10, 11}
    with pytest.raises(ValueError):
        induction_probe(vocab_size=1, length=4)


def test_scores_of_a_real_model_lie_between_zero_and_one():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, context_length=16, d_model=16, n_layers=2, n_heads=2))
    scores = model_head_scores(model, induction_probe(20, 8, seed=0))
    for name in DETECTORS:
        assert scores[name].shape == (2, 2)
        assert np.all((scores[name] >= 0) & (scores[name] <= 1))
