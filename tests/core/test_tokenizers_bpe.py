"""Byte-level BPE: training with incremental pair counts, tiktoken vs the reference encoder, replay."""

import os
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.tokenizers import BPETokenizer
from core.tokenizers.bpe_training import count_words, merge_pair, train_merges
from core.tokenizers.pretokenize import split_into_words
from tokenizer_samples import VARIED_TEXTS, python_docs

# The shared data sits beside the project root (../shared), wherever the project is checked out.
SHAKESPEARE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tinyshakespeare.txt"


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return BPETokenizer.train(python_docs(30_000), vocab_size=700)


def test_pre_tokenisation_follows_gpt2():
    # A run of whitespace leaves its last space to the word after it: "\n\n " then " ok".
    assert split_into_words("Hello world, it's 2024!\n\n  ok") == [
        "Hello",
        " world",
        ",",
        " it",
        "'s",
        " 2024",
        "!",
        "\n\n ",
        " ok",
    ]
    assert count_words("the cat the hat") == Counter({b"the": 1, b" cat": 1, b" the": 1, b" hat": 1})


def test_merge_pair_replaces_left_to_right_without_overlap():
    assert merge_pair([1, 2, 1, 2, 3], (1, 2), 9) == [9, 9, 3]
    assert merge_pair([5, 5, 5], (5, 5), 7) == [7, 5]
    assert merge_pair([5, 5, 5, 5], (5, 5), 7) == [7, 7]
    assert merge_pair([1], (1, 2), 9) == [1]


def test_first_merges_by_hand():
    # Pairs: (l,o)=4, (o,w)=4, (' ',l)=3, (w,e)=3, ...; ties go to the smaller ids, so 'lo' first,
    # then 'low' (4), then ' low' (3) beats (w,e), which 'lower' no longer holds (2 left).
    tokenizer = BPETokenizer.train("low low low lower newest newest", vocab_size=259)
    assert [tokenizer.vocab[new] for _, _, new in tokenizer.merges] == [b"lo", b"low", b" low"]
    assert tokenizer.merges == [(ord("l"), ord("o"), 256), (256, ord("w"), 257), (ord(" "), 257, 258)]
    assert tokenizer.encode(" lower") == [258, ord("e"), ord("r")]


def full_recount_training(text: str, vocab_size: int) -> list[tuple[int, int, int]]:
    """The slow way, to check the fast one: recount every pair of every word after every merge."""
    words = [list(word.encode("utf-8")) for word in split_into_words(text)]
    merges = []
    while len(merges) < vocab_size - 256:
        counts = Counter(pair for word in words for pair in zip(word, word[1:]))
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        new_id = 256 + len(merges)
        words = [merge_pair(word, best, new_id) for word in words]
        merges.append((best[0], best[1], new_id))
    return merges


def test_incremental_counts_learn_the_same_merges_as_a_full_recount():
    text = python_docs(6_000) + "".join(VARIED_TEXTS)
    fast = train_merges(text, vocab_size=256 + 200)
    assert len(fast) == 200
    assert fast == full_recount_training(text, vocab_size=256 + 200)


def test_progress_is_reported_after_every_merge():
    calls = []
    train_merges(python_docs(2_000), vocab_size=266, progress=lambda done, wanted: calls.append((done, wanted)))
    assert calls == [(done, 10) for done in range(1, 11)]


def test_vocab_size_below_256_is_an_error():
    with pytest.raises(ValueError, match="at least 256"):
        BPETokenizer.train("some text", vocab_size=255)
    bytes_only = BPETokenizer.train("some text", vocab_size=256)
    assert bytes_only.merges == []
    assert bytes_only.encode("hé") == [104, 0xC3, 0xA9]


def test_training_stops_when_every_word_is_one_token():
    tokenizer = BPETokenizer.train("ab ab", vocab_size=1000)
    assert [tokenizer.vocab[new] for _, _, new in tokenizer.merges] == [b"ab", b" ab"]
    assert tokenizer.vocab_size == 258


def test_trained_vocabulary_compresses_its_corpus(bpe):
    text = python_docs(30_000)
    n_tokens = len(bpe.encode(text))
    assert len(text.encode("utf-8")) / n_tokens > 2.5
    assert b" the" in bpe.vocab and b" return" in bpe.vocab


@pytest.mark.parametrize("text", [*VARIED_TEXTS, python_docs(40_000)[30_000:]])
def test_tiktoken_encodes_like_the_reference_encoder(bpe, text):
    assert bpe.encode(text) == bpe.reference_encode(text)


@settings(max_examples=150, deadline=None)
@given(text=st.text())
def test_tiktoken_equals_reference_on_any_text(bpe, text):
    assert bpe.encode(text) == bpe.reference_encode(text)


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(st.integers(min_value=0, max_value=699), max_size=12))
def test_tiktoken_equals_reference_on_text_made_of_tokens(bpe, pieces):
    # Gluing learned tokens together makes many near-misses for the merge rules.
    text = b"".join(bpe.vocab[token_id] for token_id in pieces).decode("utf-8", errors="ignore")
    assert bpe.encode(text) == bpe.reference_encode(text)


def test_replaying_merges_shrinks_the_prompt_step_by_step(bpe):
    prompt = "The return statement leaves the function."
    steps = [bpe.encode_with_merges(prompt, n) for n in range(len(bpe.merges) + 1)]
    assert steps[0] == list(prompt.encode("utf-8"))
    assert steps[-1] == bpe.encode(prompt)
    lengths = [len(ids) for ids in steps]
    assert all(later <= earlier for earlier, later in zip(lengths, lengths[1:]))
    assert lengths[-1] < lengths[0] / 3
    assert all(bpe.decode(ids) == prompt for ids in steps[::50])
    with pytest.raises(ValueError, match=f"between 0 and {len(bpe.merges)}"):
        bpe.encode_with_merges(prompt, len(bpe.merges) + 1)


def shakespeare_text() -> str:
    """The shared corpus; CI promises it, so there a missing file fails rather than skips."""
    if not SHAKESPEARE.exists():
        message = f"{SHAKESPEARE} is not beside the project"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set, so the shared data must be there)")
        pytest.skip(message)
    return SHAKESPEARE.read_text(encoding="utf-8")


def test_missing_shared_data_fails_under_ci_and_skips_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setitem(globals(), "SHAKESPEARE", tmp_path / "absent.txt")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        shakespeare_text()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="absent.txt is not beside the project"):
        shakespeare_text()


def test_on_shakespeare_we_compress_about_as_well_as_hugging_face():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    text = shakespeare_text()[:100_000]
    ours = BPETokenizer.train(text, vocab_size=800)
    reference = Tokenizer(models.BPE())
    reference.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=800, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    reference.train_from_iterator([text], trainer)
    ours_count, reference_count = len(ours.encode(text)), len(reference.encode(text).ids)
    assert abs(ours_count - reference_count) / reference_count < 0.01
    assert ours.decode(ours.encode(text)) == text


def test_a_saved_tokenizer_with_an_unknown_split_pattern_is_refused(bpe):
    from core.tokenizers.bpe import BPETokenizer

    data = bpe.to_json()
    assert BPETokenizer.from_json(data).encode("hello there") == bpe.encode("hello there")
    catastrophic = r"(a+)+$"  # backtracks for ever on "aaaa…b"
    with pytest.raises(ValueError, match="could make encoding hang"):
        BPETokenizer.from_json({**data, "pattern": catastrophic})
