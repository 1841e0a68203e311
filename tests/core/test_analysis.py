"""The maths behind the explorer's panels, checked against hand-made examples."""

import math

import numpy as np
import pytest
import torch

from core.teaching.analysis import (
    all_patterns,
    attention_steps,
    causal_future,
    cosine_similarity_matrix,
    default_curve_dimensions,
    nearest_neighbours,
    pca_2d,
    positional_table,
    rope_rotations,
    strongest_keys,
    symmetric_range,
    wrapped_angles,
)
from core.model.config import GPTConfig
from core.model.model import GPT
from core.model.positional import rope_angles


def test_cosine_similarity_of_hand_made_vectors():
    rows = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [1.0, 1.0]])
    similarity = cosine_similarity_matrix(rows)
    assert similarity[0, 1] == pytest.approx(0.0)
    assert similarity[0, 2] == pytest.approx(-1.0)
    assert similarity[0, 3] == pytest.approx(1 / math.sqrt(2))
    np.testing.assert_allclose(np.diag(similarity), 1.0)


def test_a_zero_vector_is_similar_to_nothing_and_warns_nothing():
    similarity = cosine_similarity_matrix(np.zeros((3, 4)))  # positional encoding "none"
    np.testing.assert_array_equal(similarity, 0.0)


def test_nearest_neighbours_best_first_and_not_itself():
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.7, 0.7], [-1.0, 0.0]])
    neighbours = nearest_neighbours(vectors, 0, k=3)
    assert [i for i, _ in neighbours] == [1, 3, 2]
    assert neighbours[0][1] == pytest.approx(0.9 / math.hypot(0.9, 0.1))
    assert nearest_neighbours(vectors, 0, k=99)[-1][0] == 4  # k is capped at the other rows
    with pytest.raises(ValueError, match="no row 7"):
        nearest_neighbours(vectors, 7)


def test_pca_finds_the_directions_of_most_spread():
    generator = np.random.default_rng(0)
    # Points spread 10x along (1, 1, 0), 3x along (0, 0, 1), barely along (1, -1, 0).
    along = generator.normal(size=(500, 3)) * [10.0, 3.0, 0.1]
    basis = np.array([[1, 1, 0], [0, 0, 1], [1, -1, 0]]) / np.array([[math.sqrt(2)], [1], [math.sqrt(2)]])
    points = along @ basis + 5.0
    projection = pca_2d(points)
    assert projection.shape == (500, 2)
    centred = points - points.mean(axis=0)
    _, _, directions = np.linalg.svd(centred, full_matrices=False)  # the textbook way
    reference = centred @ directions[:2].T
    np.testing.assert_allclose(np.abs(projection), np.abs(reference), rtol=1e-4, atol=1e-4)
    assert projection[:, 0].std() > 3 * projection[:, 1].std()  # first axis spreads most
    assert projection[np.abs(projection[:, 0]).argmax(), 0] > 0  # signs are fixed


def test_pca_of_one_dimensional_rows_has_a_zero_second_axis():
    projection = pca_2d(np.array([[1.0], [2.0], [4.0]]))
    np.testing.assert_allclose(projection[:, 1], 0.0)
    np.testing.assert_allclose(np.abs(projection[:, 0]), np.abs([1 - 7 / 3, 2 - 7 / 3, 4 - 7 / 3]), rtol=1e-6)


def test_symmetric_range_ignores_minus_infinity_and_is_round():
    assert symmetric_range(np.array([-2.0, 0.5, -np.inf]), np.array([1.5])) == (-2.0, 2.0)
    assert symmetric_range(np.zeros(3)) == (-1.0, 1.0)
    assert symmetric_range(np.array([0.0713])) == pytest.approx((-0.08, 0.08))
    assert symmetric_range(np.array([-13.0])) == pytest.approx((-15.0, 15.0))
    assert symmetric_range(np.array([0.0713]))[1] == symmetric_range(np.array([0.0752]))[1]  # no jump


def test_attention_steps_match_the_maths_done_by_hand():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, context_length=8, d_model=16, n_layers=2, n_heads=2))
    trace = model.trace([3, 1, 4])
    steps = attention_steps(trace, layer=1, head=1)
    query = trace["blocks.1.attn.q"][0, 1].numpy()
    key = trace["blocks.1.attn.k"][0, 1].numpy()
    np.testing.assert_allclose(steps.dot_products, query @ key.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(steps.scores, query @ key.T / math.sqrt(8), rtol=1e-5, atol=1e-6)
    assert np.isneginf(steps.masked_scores[0, 1]) and steps.future[0, 1] and not steps.future[1, 0]
    by_hand = np.exp(steps.scores[2]) / np.exp(steps.scores[2]).sum()  # last row sees every key
    np.testing.assert_allclose(steps.pattern[2], by_hand, rtol=1e-5)
    cell = steps.cell(2, 0)
    assert cell["dot_product"] == pytest.approx(float(query[2] @ key[0]), rel=1e-5)
    assert cell["scaled"] == pytest.approx(cell["dot_product"] / math.sqrt(8))
    assert cell["probability"] == pytest.approx(by_hand[0], rel=1e-5) and not cell["masked"]
    grid = all_patterns(trace, n_layers=2)
    assert grid.shape == (2, 2, 3, 3)
    np.testing.assert_array_equal(grid[1, 1], steps.pattern)


def test_causal_future_and_strongest_keys():
    np.testing.assert_array_equal(causal_future(3), [[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    assert strongest_keys(np.array([0.2, 0.5, 0.3]), k=2) == [(1, 0.5), (2, 0.3)]


def test_default_curve_dimensions_are_distinct_and_in_range():
    assert default_curve_dimensions(128) == [0, 8, 16, 32]
    assert default_curve_dimensions(4) == [0, 2]
    assert default_curve_dimensions(1) == [0]


def test_rope_rotation_similarity_depends_only_on_distance():
    angles = rope_angles(10, 8).numpy()
    similarity = cosine_similarity_matrix(rope_rotations(angles))
    assert similarity[2, 5] == pytest.approx(similarity[4, 7], abs=1e-6)
    assert similarity[0, 3] == pytest.approx(similarity[6, 9], abs=1e-6)
    wrapped = wrapped_angles(angles)
    assert wrapped.min() >= 0 and wrapped.max() < 2 * math.pi
    assert wrapped[7, 0] == pytest.approx(7 - 2 * math.pi)


def test_positional_table_matches_what_the_model_uses():
    for scheme in ("sinusoidal", "rope"):
        model = GPT(GPTConfig(vocab_size=11, context_length=16, d_model=16, n_layers=1, n_heads=2, pos_encoding=scheme))
        trace = model.trace([1, 2, 3, 4])
        table = positional_table(scheme, 16, 16, 8)
        assert table.shape == ((16, 16) if scheme == "sinusoidal" else (16, 4))
        np.testing.assert_allclose(table[:4], trace.numpy("embed.pos"), atol=1e-6)
    assert positional_table("learned", 16, 16, 8) is None
