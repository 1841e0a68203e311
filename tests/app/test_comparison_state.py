"""The Compare switch's state without Qt: which prompt a snapshot shows, the difference snapshot, and the
sentence on how two prompts line up."""

import numpy as np
import pytest

from app.state.comparison import (
    CLEAN,
    CORRUPTED,
    CUT,
    DIFFERENCE,
    PAD,
    ComparedMaker,
    Comparison,
    alignment_note,
    compared_labels,
    mode_title,
)
from core import Intervention

CLEAN_PROMPT = "tom gave a ball to"
CORRUPTED_PROMPT = "tim gave a bell to"  # the same count of characters: the tokens line up


@pytest.fixture
def session(session_factory):
    return session_factory(context_length=32)  # room for both prompts and a longer one


def test_the_clean_switch_traces_only_the_clean_prompt_and_says_how_the_two_line_up(session):
    snapshot, notice = ComparedMaker().make(session, CLEAN_PROMPT, Intervention(), Comparison(CORRUPTED_PROMPT))
    assert notice == "" and snapshot.mode == CLEAN and snapshot.compared is None
    assert snapshot.comparison_note == "Both prompts have 18 tokens: they line up position by position."
    assert not snapshot.counts_differ and snapshot.comparison_headline == "Both prompts have 18 tokens."


def test_the_corrupted_switch_shows_the_second_prompt_and_keeps_the_clean_one(session):
    snapshot, _ = ComparedMaker().make(session, CLEAN_PROMPT, Intervention(), Comparison(CORRUPTED_PROMPT, CORRUPTED))
    assert snapshot.mode == CORRUPTED
    assert "".join(snapshot.token_labels).replace("␣", " ") == CORRUPTED_PROMPT
    assert snapshot.clean.trace.ids.tolist() == [session.tokenizer.encode(CLEAN_PROMPT)]


def test_the_difference_snapshot_is_clean_minus_corrupted_for_named_values(session):
    snapshot, _ = ComparedMaker().make(session, CLEAN_PROMPT, Intervention(), Comparison(CORRUPTED_PROMPT, DIFFERENCE))
    assert snapshot.is_difference
    clean, corrupted = snapshot.compared
    for name in ("embed.tok", "blocks.0.attn.pattern", "blocks.1.attn.v", "blocks.1.mlp.out", "logits", "probs"):
        expected = clean.trace.numpy(name) - corrupted.trace.numpy(name)
        np.testing.assert_allclose(snapshot.trace.numpy(name), expected, atol=1e-6, err_msg=name)
    assert snapshot.token_labels[:3] == ("t", "o/i", "m")
    assert snapshot.token_labels[12] == "a/e"


def test_a_what_if_applies_to_both_prompts_and_the_baseline_is_their_intact_difference(session):
    off = Intervention(ablate_heads=frozenset({(0, 1)}))
    snapshot, _ = ComparedMaker().make(session, CLEAN_PROMPT, off, Comparison(CORRUPTED_PROMPT, DIFFERENCE))
    clean, corrupted = snapshot.compared
    assert clean.trace.intervention == corrupted.trace.intervention == off
    expected = clean.baseline.numpy("probs") - corrupted.baseline.numpy("probs")
    np.testing.assert_allclose(snapshot.baseline.numpy("probs"), expected, atol=1e-6)


def test_different_token_counts_show_the_clean_prompt_with_a_sentence_until_padded_or_cut(session):
    maker, longer = ComparedMaker(), CORRUPTED_PROMPT + " me"
    snapshot, _ = maker.make(session, CLEAN_PROMPT, Intervention(), Comparison(longer, DIFFERENCE))
    assert snapshot.mode == CLEAN and snapshot.counts_differ  # nothing half-drawn
    assert snapshot.comparison_note.startswith("The corrupted prompt has 3 more tokens (18 clean, 21 corrupted)")
    assert snapshot.comparison_headline == "The corrupted prompt has 3 more tokens:"
    padded, _ = maker.make(session, CLEAN_PROMPT, Intervention(), Comparison(longer, DIFFERENCE, PAD))
    assert padded.is_difference and padded.n_tokens == 21 and not padded.counts_differ
    assert padded.compared[0].token_labels[:3] == ("␣", "␣", "␣")  # spaces at the start of the shorter
    assert padded.comparison_note == "Both prompts now have 21 tokens (spaces added at the start of the shorter)."
    assert padded.comparison_headline == "Padded to 21 tokens."
    cut, _ = maker.make(session, CLEAN_PROMPT, Intervention(), Comparison(longer, DIFFERENCE, CUT))
    assert cut.is_difference and cut.n_tokens == 18
    assert "".join(cut.compared[1].token_labels).replace("␣", " ") == longer[3:]  # ends aligned


def test_the_alignment_sentence_for_unequal_lengths():
    assert alignment_note([1, 2, 3, 4], [1, 2, 9, 3, 4, 4]) == (
        "The corrupted prompt has 2 more tokens (4 clean, 6 corrupted): only the first 2 and the last 1 line up. "
        "Pad the shorter or cut the longer to compare them position by position."
    )
    assert alignment_note([1, 2, 3], [1, 3]).startswith("The clean prompt has 1 more token (3 clean, 2 corrupted)")
    assert (
        alignment_note([1, 2], [1, 3, 4], CUT) == "Both prompts now have 2 tokens (the first tokens of the longer cut)."
    )


def test_an_unreadable_second_prompt_and_bad_choices_are_sentences(session):
    snapshot, _ = ComparedMaker().make(session, CLEAN_PROMPT, Intervention(), Comparison("ΩΩ", DIFFERENCE))
    assert (
        snapshot.mode == CLEAN and snapshot.comparison_note == "The corrupted prompt has no tokens this model can read."
    )
    with pytest.raises(ValueError, match="not 'both'"):
        Comparison("x", "both")
    with pytest.raises(ValueError, match="not 'stretch'"):
        Comparison("x", CLEAN, "stretch")


def test_labels_and_titles_say_which_prompt():
    assert compared_labels(("a", "b", "c"), ("a", "x", "c")) == ("a", "b/x", "c")
    assert mode_title("Attention", CLEAN) == "Attention"
    assert mode_title("Attention", DIFFERENCE) == "Attention — difference"
