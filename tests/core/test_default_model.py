"""The shipped default model speaks simple English word by word: it is small, reads BPE tokens with
RoPE positions, puts a noun where a noun goes, copies names from earlier in the story, uses pronouns
that agree, and continues words said back with an induction head; the head detectors find a
previous-token head and, in a later layer, an induction head. Every check is deterministic (no
sampling, no timing)."""

import numpy as np
import pytest
import torch

from core.files.checkpoint import load_checkpoint
from core.teaching.detectors import head_scores, pattern_names
from core.files.shipped_models import DEFAULT_MODEL_FOLDER, common_word_probe, continue_greedily, top_next_tokens
from core.training.stories import MAGIC_WORDS, PEOPLE, SEATS, generate_stories

# what a person in the stories does next: the words that follow a name there
DOING_WORDS = {
    "said",
    "was",
    "gave",
    "met",
    "went",
    "found",
    "saw",
    "lost",
    "wanted",
    "put",
    "liked",
    "had",
    "made",
    "sang",
    "laughed",
    "looked",
    "and",
}


@pytest.fixture(scope="module")
def checkpoint():
    return load_checkpoint(DEFAULT_MODEL_FOLDER)


def _words(tokens):
    return [token.strip() for token, _ in tokens]


def _scores(checkpoint, ids):
    model = checkpoint.model
    return head_scores(model.trace(ids, names=pattern_names(model.config.n_layers)))


def test_it_is_small_and_reads_bpe_tokens_with_rope_positions(checkpoint):
    assert sum(f.stat().st_size for f in DEFAULT_MODEL_FOLDER.iterdir()) <= 10 * 2**20
    config = checkpoint.config
    assert checkpoint.tokenizer.kind == "bpe" and config.pos_encoding == "rope"
    assert (config.n_layers, config.n_heads, config.d_model, config.context_length) == (4, 4, 128, 128)
    assert checkpoint.optimizer_state is None and checkpoint.losses["val"][-1][1] < 1.25


def test_common_words_are_one_token_and_rare_words_split(checkpoint):
    tokenizer = checkpoint.tokenizer
    for word in (" the", " cat", " sat", " park", " happy", " gave", " Anna", " Ben", " ball"):
        assert len(tokenizer.encode(word)) == 1, word
    for word in (" flumpish", " photosynthesis"):
        assert len(tokenizer.encode(word)) >= 3, word


def test_a_noun_comes_after_the_cat_sat_on_the(checkpoint):
    best = _words(top_next_tokens(checkpoint.model, checkpoint.tokenizer, "The cat sat on the", k=5))
    assert all(word in SEATS for word in best), best  # all five: mat, bed, rug...


def test_after_anna_met_ben_then_anna_does_something(checkpoint):
    best = top_next_tokens(checkpoint.model, checkpoint.tokenizer, "Anna met Ben. Then Anna", k=3)
    assert best[0][0].strip() in DOING_WORDS and best[0][1] > 0.3, best  # said, was, gave...
    assert not any(word in PEOPLE for word in _words(best))  # a name cannot follow a name here


def test_it_copies_made_up_names_from_earlier_in_the_story(checkpoint):
    for prompt, name in [
        ("Tom had a dog called Zubak. One day, Tom met Lily at the park. They played with", " Zubak"),
        ("Lena had a cat called Bumo. Lena and Felix went to the park with", " Bumo"),
    ]:
        assert continue_greedily(checkpoint.model, checkpoint.tokenizer, prompt, 3).startswith(name), prompt


def test_a_pronoun_refers_back_to_the_person(checkpoint):
    for prompt, pronoun in [
        ("Mia lost her red kite. She looked all over the garden, but", " she"),
        ("Tom lost his red kite. He looked all over the garden, but", " he"),
    ]:
        best = top_next_tokens(checkpoint.model, checkpoint.tokenizer, prompt, k=1)[0]
        assert best[0] == pronoun and best[1] > 0.8, (prompt, best)


def said_back(words: list[str]) -> str:
    """Words said back in the stories' own frame: the second copy can only be continued by induction."""
    spoken = " ".join(words).capitalize() + "."
    return f'Theo said the magic words: "{spoken}" Emma said them back: "{spoken}"'


def test_words_said_back_are_continued_by_an_induction_head(checkpoint):
    """In the second copy each word is predicted from what followed it the first time, and a head in a
    later layer looks at exactly that earlier token (the induction pattern)."""
    model, tokenizer = checkpoint.model, checkpoint.tokenizer
    rng = np.random.default_rng(5)
    magic = [" " + word for word in MAGIC_WORDS if len(tokenizer.encode(" " + word)) == 1]
    for _ in range(3):
        ids = tokenizer.encode(said_back([str(w).strip() for w in rng.choice(magic, 7, replace=False)]))
        trace = model.trace(ids)
        second_copy = [t for t in range(len(ids) // 2 + 2, len(ids)) if any(ids[s] == ids[t] for s in range(t - 1))]
        earlier_next = {t: max(s for s in range(t - 1) if ids[s] == ids[t]) + 1 for t in second_copy}
        probs = trace.numpy("probs")  # (T, vocab)
        copied = [probs[t - 1, ids[t]] for t in second_copy[1:]]  # each word, predicted
        assert min(copied) > 0.8, np.round(copied, 2)
        on_earlier = np.stack(
            [
                np.mean(
                    [trace.numpy(f"blocks.{layer}.attn.pattern")[:, t, earlier_next[t]] for t in second_copy], axis=0
                )
                for layer in range(model.config.n_layers)
            ]
        )  # (layers, heads)
        layer, _ = np.unravel_index(on_earlier.argmax(), on_earlier.shape)
        assert on_earlier.max() > 0.4 and layer >= 1, on_earlier.round(2)


def test_it_has_a_previous_token_head(checkpoint):
    story = generate_stories(1, seed=2)
    ids = torch.tensor([checkpoint.tokenizer.encode(story)[: checkpoint.config.context_length]])  # (1, T)
    previous = _scores(checkpoint, ids)["previous_token"]
    assert previous.max() > 0.5, previous.round(2)


def test_it_has_an_induction_head_above_a_previous_token_head(checkpoint):
    probe = common_word_probe(checkpoint.tokenizer, generate_stories(500, seed=1))
    scores = _scores(checkpoint, probe)
    induction, previous = scores["induction"], scores["previous_token"]
    layer, _ = np.unravel_index(induction.argmax(), induction.shape)
    assert induction.max() > 0.4 and layer >= 1, induction.round(2)
    assert previous[:layer].max() > 0.5, previous.round(2)  # on the probe's words too, below it
