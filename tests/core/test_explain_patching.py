"""Activation patching: everything patched gives the clean run, nothing the corrupted one, one head
what the core's own intervention gives, sweeps in batches what single runs give; cancel and progress;
two prompts that do not line up; and on the default model the induction head carries the copy."""

import threading

import numpy as np
import pytest
import torch

from core.explain.alignment import check_same_length, cut_to_same_length, pad_to_same_length
from core.explain.attribution import token_id
from core.explain.patching import (
    estimate_sweep,
    pair_from_traces,
    patching_pair,
    run_patched,
    sweep_heads,
    sweep_residual,
)
from core.files.checkpoint import load_checkpoint
from core.files.shipped_models import DEFAULT_MODEL_FOLDER
from core.model.trace import Intervention
from core.training.stories import MAGIC_WORDS
from explain_models import FAMILIES, random_ids, tiny_model


def _pair(family="gpt2", answer=None):
    model = tiny_model(family)
    clean = random_ids(n_tokens=10, seed=1)
    corrupted = clean.clone()
    corrupted[0, 2] = (corrupted[0, 2] + 5) % 40  # one token differs, early
    logits = model.trace(clean)["logits"][0, -1]
    answer = int(logits.argmax()) if answer is None else answer
    return model, patching_pair(model, clean, corrupted, answer, wrong=int(logits.argmin()))


@pytest.mark.parametrize("family", FAMILIES)
def test_patching_the_whole_stream_gives_the_clean_run_and_nothing_the_corrupted(family):
    model, pair = _pair(family)
    assert run_patched(model, pair) == pytest.approx(pair.corrupted_score, abs=1e-4)
    for layer in range(model.config.n_layers):
        everything = [(layer, position) for position in range(pair.n_tokens)]
        assert run_patched(model, pair, residual=everything) == pytest.approx(pair.clean_score, abs=1e-4)
    every_head = [(layer, head) for layer in range(3) for head in range(4)]
    assert pair.normalised(run_patched(model, pair, heads=every_head, residual=[(0, 2)])) == pytest.approx(1, abs=1e-4)


def test_one_head_patched_equals_the_cores_own_ablation():
    """Clean = the prompt with head (1, 2) switched off by core's Intervention; corrupted = the plain prompt.
    Copying that head's output from the clean run into the corrupted one must give the ablated run."""
    model = tiny_model("llama")
    ids = random_ids(n_tokens=9)
    ablated = model.trace(ids, intervention=Intervention(ablate_heads={(1, 2)}))
    plain = model.trace(ids)
    answer, wrong = 5, 11
    pair = pair_from_traces(ablated, plain, answer, wrong)
    expected = float(ablated["logits"][0, -1, answer] - ablated["logits"][0, -1, wrong])
    assert run_patched(model, pair, heads=[(1, 2)]) == pytest.approx(expected, abs=1e-4)
    assert run_patched(model, pair, heads=[(1, 1)]) == pytest.approx(pair.corrupted_score, abs=1e-4)


def test_a_last_layer_head_patched_by_hand():
    """By hand: swap the head's output (its z through its slice of the output projection) in the last
    layer's stream, then the MLP, the final norm and the head."""
    model, pair = _pair("gpt2")
    block, hs = model.transformer.h[2], model.config.d_head
    with torch.no_grad():
        z_clean, z_corrupted = pair.clean["blocks.2.attn.z"][0, 3], pair.corrupted["blocks.2.attn.z"][0, 3]  # (T, hs)
        w_head = block.attn.c_proj.weight[:, 3 * hs : 4 * hs]  # (C, hs)
        mid = pair.corrupted["blocks.2.resid_mid"][0] + (z_clean - z_corrupted) @ w_head.T  # (T, C)
        out = mid + block.mlp(block.ln_2(mid))
        logits = model.lm_head(model.transformer.ln_f(out[-1]))
    expected = float(logits[pair.answer] - logits[pair.wrong])
    assert run_patched(model, pair, heads=[(2, 3)]) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("batch_size", [1, 5, 64])
def test_a_sweep_in_batches_equals_single_runs(batch_size):
    model, pair = _pair("pythia")
    heads = sweep_heads(model, pair, batch_size=batch_size)
    stream = sweep_residual(model, pair, batch_size=batch_size)
    assert heads.scores.shape == (3, 4) and stream.scores.shape == (3, 10) and not heads.cancelled
    assert heads.done == heads.total == 12 and stream.total == 30
    for layer, head in ((0, 0), (1, 3), (2, 2)):
        assert heads.raw[layer, head] == pytest.approx(run_patched(model, pair, heads=[(layer, head)]), abs=1e-4)
    for layer, position in ((0, 2), (1, 9), (2, 0)):
        single = run_patched(model, pair, residual=[(layer, position)])
        assert stream.raw[layer, position] == pytest.approx(single, abs=1e-4)
    # before the changed token nothing differs, so patching there restores nothing; at it in layer 0, all
    np.testing.assert_allclose(stream.scores[:, :2], 0.0, atol=1e-4)
    assert stream.scores[0, 2] == pytest.approx(1.0, abs=1e-4)


def test_progress_is_reported_and_a_cancel_stops_between_batches():
    model, pair = _pair("gpt2")
    cancel, seen = threading.Event(), []

    def progress(done, total):
        seen.append((done, total))
        if done >= 4:
            cancel.set()

    result = sweep_heads(model, pair, batch_size=4, progress=progress, cancel=cancel)
    assert seen == [(4, 12)] and result.cancelled and result.done == 4
    assert np.isfinite(result.scores[0]).all() and np.isnan(result.scores[1:]).all()


def test_the_estimate_counts_the_passes_before_the_sweep_starts():
    model, _ = _pair("gpt2")
    heads = estimate_sweep(model, 10, "heads", batch_size=5)
    assert (heads.forward_passes, heads.batches) == (12, 3)
    # batches start at layers 0, 1 and 2 of 3: they run 3, 2 and 1 layers, two full batches' worth
    assert heads.seconds == pytest.approx(2 * heads.seconds_per_batch) and heads.seconds_per_batch > 0
    stream = estimate_sweep(model, 10, "residual", batch_size=16)
    assert (stream.forward_passes, stream.batches) == (30, 2)
    with pytest.raises(ValueError, match="1 to 32 tokens"):
        estimate_sweep(model, 33)


def test_prompts_that_do_not_line_up_are_a_sentence_with_pad_and_cut_offered():
    model = tiny_model("gpt2")
    clean, corrupted = [1, 2, 3, 4, 5, 6], [1, 2, 9, 9, 9, 5, 6]
    with pytest.raises(ValueError, match="6 tokens and the corrupted one 7.*first 2 tokens and the last 2 match"):
        patching_pair(model, clean, corrupted, 3)
    padded = pad_to_same_length(clean, corrupted, pad_id=0)
    assert padded == ([0, 1, 2, 3, 4, 5, 6], corrupted)
    cut = cut_to_same_length(clean, corrupted)
    assert cut == (clean, [2, 9, 9, 9, 5, 6])
    for aligned in (padded, cut):
        check_same_length(*aligned)
    with pytest.raises(ValueError, match="same logit difference"):
        patching_pair(model, clean, clean, 3, 4)
    with pytest.raises(ValueError, match="not in this model's vocabulary"):
        patching_pair(model, clean, clean, 99)


@pytest.fixture(scope="module")
def story_model():
    return load_checkpoint(DEFAULT_MODEL_FOLDER)


def _said_back(words: list[str], upto: int) -> str:
    """The stories' own frame; the second copy stops before word `upto`, which only induction can supply."""
    spoken = " ".join(words).capitalize() + "."
    return f'Theo said the magic words: "{spoken}" Emma said them back: "' + " ".join(words[:upto]).capitalize()


def test_the_default_models_induction_heads_carry_the_copy(story_model):
    """Clean: the list said back stops before its 4th word. Corrupted: the first telling had another word
    there. Copying the induction head's (L1H3) output from the clean run restores the copy; a head
    elsewhere restores nothing."""
    model, tokenizer = story_model.model, story_model.tokenizer
    magic = [word for word in MAGIC_WORDS if len(tokenizer.encode(" " + word)) == 1]
    rng = np.random.default_rng(3)
    for _ in range(3):
        words = [str(word) for word in rng.choice(magic, 7, replace=False)]
        clean = tokenizer.encode(_said_back(words[:6], 3))
        corrupted = tokenizer.encode(_said_back([*words[:3], words[6], *words[4:6]], 3))
        pair = patching_pair(
            model, clean, corrupted, token_id(tokenizer, " " + words[3]), token_id(tokenizer, " " + words[6])
        )
        assert pair.clean_score > 3 > -3 > pair.corrupted_score
        scores = sweep_heads(model, pair).scores  # (4, 4)
        assert scores[1, 3] > 0.8, scores.round(2)
        assert pair.normalised(run_patched(model, pair, heads=[(1, 3)])) > 0.8
        others = np.delete(scores.reshape(-1), [7])  # every head but L1H3
        assert np.abs(others).max() < 0.2, scores.round(2)
