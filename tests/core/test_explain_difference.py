"""Two prompts side by side: the difference trace is clean − corrupted value by value, the lens of two
runs is compared cell by cell, and the attribution of two runs subtracts part by part."""

import numpy as np
import pytest
import torch

from core.explain.attribution import direct_attribution
from core.explain.difference import attribution_difference, difference_trace, lens_difference
from core.explain.logit_lens import lens_probabilities, logit_lens
from explain_models import FAMILIES, random_ids, tiny_model

NAMES = (
    "embed.tok",
    "embed.sum",
    "blocks.0.attn.q",
    "blocks.1.attn.pattern",
    "blocks.1.attn.scores",
    "blocks.0.mlp.post",
    "blocks.2.resid_post",
    "logits",
    "probs",
)


def two_runs(family: str = "gpt2"):
    """A model, and its traces of two prompts that differ at positions 3 and 7 only."""
    model = tiny_model(family)
    clean = random_ids()
    corrupted = clean.clone()
    corrupted[0, 3] = (clean[0, 3] + 1) % model.config.vocab_size
    corrupted[0, 7] = (clean[0, 7] + 5) % model.config.vocab_size
    return model, model.trace(clean), model.trace(corrupted)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_value_of_the_difference_is_clean_minus_corrupted(family):
    model, clean, corrupted = two_runs(family)
    difference = difference_trace(clean, corrupted)
    assert set(difference) == set(clean)
    assert torch.equal(difference.ids, clean.ids)
    for name in NAMES:
        expected = clean.numpy(name) - corrupted.numpy(name)
        np.testing.assert_allclose(difference.numpy(name), expected, atol=1e-6, err_msg=name)
    # before the first changed token the two runs are the same model reading the same tokens: exactly 0
    assert not difference.numpy("blocks.2.resid_post")[:3].any()
    assert difference.numpy("blocks.2.resid_post")[3].any()


def test_cells_masked_in_both_runs_stay_masked_and_the_rest_subtract():
    model, clean, corrupted = two_runs()
    masked = difference_trace(clean, corrupted).numpy("blocks.0.attn.masked_scores", head=1)  # (T, T)
    future = np.triu(np.ones(masked.shape, dtype=bool), k=1)
    assert np.isneginf(masked[future]).all()
    assert np.isfinite(masked[~future]).all()
    with np.errstate(invalid="ignore"):  # −∞ − −∞ above the diagonal: not compared
        by_hand = clean.numpy("blocks.0.attn.masked_scores", head=1) - corrupted.numpy(
            "blocks.0.attn.masked_scores", head=1
        )
    np.testing.assert_allclose(masked[~future], by_hand[~future], atol=1e-6)


def test_a_difference_needs_the_same_token_count_and_names_only_what_was_recorded():
    model, clean, _ = two_runs()
    shorter = model.trace(random_ids()[:, :5])
    with pytest.raises(ValueError, match="12 tokens and the corrupted one 5"):
        difference_trace(clean, shorter)
    with pytest.raises(KeyError, match="no 'blocks.9.attn.q'"):
        difference_trace(clean, clean)["blocks.9.attn.q"]


def test_the_lens_of_two_runs_follows_the_clean_top_token_into_the_corrupted_run():
    model, clean, corrupted = two_runs()
    compared = lens_difference(model, clean, corrupted, k=3)
    clean_lens, corrupted_lens = logit_lens(model, clean, k=3), logit_lens(model, corrupted, k=3)
    assert np.array_equal(compared.clean.top_ids, clean_lens.top_ids)
    assert np.array_equal(compared.corrupted.top_ids, corrupted_lens.top_ids)
    row, position = 2, 9
    best = clean_lens.top_ids[row, position, 0]
    in_corrupted = lens_probabilities(model, corrupted, row, position)[best]
    assert compared.clean_top_in_corrupted[row, position] == pytest.approx(in_corrupted, abs=1e-6)
    change = clean_lens.top_probs[row, position, 0] - in_corrupted
    assert compared.probability_change[row, position] == pytest.approx(change, abs=1e-6)
    assert not compared.probability_change[:, :3].any() and not compared.top_differs[:, :3].any()
    differs = clean_lens.top_ids[:, :, 0] != corrupted_lens.top_ids[:, :, 0]
    assert np.array_equal(compared.top_differs, differs)


def test_the_attribution_of_two_runs_subtracts_part_by_part_and_adds_up_to_the_logit_change():
    model, clean, corrupted = two_runs()
    clean_parts = direct_attribution(model, clean, None, None)
    corrupted_parts = direct_attribution(model, corrupted, clean_parts.target, None)
    change = attribution_difference(clean_parts, corrupted_parts)
    np.testing.assert_allclose(change.heads, clean_parts.heads - corrupted_parts.heads, atol=1e-6)
    assert change.logit == pytest.approx(clean_parts.logit - corrupted_parts.logit, abs=1e-5)
    assert change.total == pytest.approx(change.logit, abs=1e-4)
    other = direct_attribution(model, corrupted, (clean_parts.target + 1) % model.config.vocab_size, None)
    with pytest.raises(ValueError, match="same token"):
        attribution_difference(clean_parts, other)
