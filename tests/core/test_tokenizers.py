"""The common tokenizer interface: labels, the character tokenizer, JSON, and encode -> decode identity."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.tokenizers import BPETokenizer, CharTokenizer, Tokenizer, label_bytes, label_text, tokenizer_from_json
from tokenizer_samples import VARIED_TEXTS, python_docs


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return BPETokenizer.train(python_docs(20_000), vocab_size=500)


# ----- labels -------------------------------------------------------------------------------------


def test_labels_make_whitespace_and_control_characters_visible():
    assert label_text(" the") == "␣the"
    assert label_text("\n\n") == "↵↵"
    assert label_text("\t") == "⇥"
    assert label_text("\r\n") == "␍↵"
    assert label_text("\x00") == "␀"
    assert label_text("\u00a0") == "<U+00A0>"
    assert label_text("\u200d") == "<U+200D>"
    assert label_text("é😀") == "é😀"


def test_labels_show_partial_utf8_bytes_as_hex():
    euro = "€".encode()  # E2 82 AC
    assert label_bytes(euro) == "€"
    assert label_bytes(euro[:1]) == "<0xE2>"
    assert label_bytes(euro[1:]) == "<0x82><0xAC>"
    assert label_bytes(b" " + euro[:2], full=True) == "␣<0xE2><0x82>"
    assert label_bytes(b" " + euro[:2]) == "␣<0xE2>…"  # cut between bytes, never inside one
    assert label_bytes(b"\xff") == "<0xFF>"


def test_long_labels_are_cut_to_twelve_characters_unless_full():
    assert label_text("a" * 12) == "a" * 12
    assert label_text("a" * 13) == "a" * 11 + "…"
    assert len(label_text(" internationalisation")) == 12
    assert label_text(" internationalisation", full=True) == "␣internationalisation"


def test_token_labels_of_a_trained_bpe(bpe):
    space_the = bpe.encode(" the")
    assert space_the == [bpe.vocab.index(b" the")]
    assert bpe.token_label(space_the[0]) == "␣the"
    assert bpe.token_label(ord("\n")) == "↵"
    assert bpe.token_label(0xE2) == "<0xE2>"
    labels = [bpe.token_label(token_id) for token_id in range(bpe.vocab_size)]
    assert all(0 < len(label) <= 12 for label in labels)


# ----- the character tokenizer --------------------------------------------------------------------


def test_char_vocabulary_is_the_sorted_distinct_characters():
    tokenizer = CharTokenizer.from_text("hello, world\n")
    assert tokenizer.kind == "char"
    assert tokenizer.chars == "\n ,dehlorw"
    assert tokenizer.vocab_size == 10
    assert tokenizer.encode("hello") == [5, 4, 6, 6, 7]
    assert tokenizer.decode([5, 4, 6, 6, 7]) == "hello"
    assert tokenizer.token_label(0) == "↵"
    assert tokenizer.token_label(1) == "␣"
    assert tokenizer.token_bytes(5) == b"h"


def test_char_unknown_character_is_an_error_naming_it_and_its_position():
    tokenizer = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"'z' \(U\+007A\) at position 2"):
        tokenizer.encode("abzc")


def test_char_unknown_character_can_become_a_visible_token():
    tokenizer = CharTokenizer.from_text("abc", unknown="token")
    assert tokenizer.vocab_size == 4
    assert tokenizer.encode("abzc") == [0, 1, 3, 2]
    assert tokenizer.token_label(3) == "<unk>"
    assert tokenizer.decode([0, 3]) == "a\ufffd"


def test_char_rejects_bad_inputs():
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer.from_text("")
    with pytest.raises(ValueError, match="unknown must be"):
        CharTokenizer.from_text("abc", unknown="skip")
    with pytest.raises(ValueError, match="once"):
        CharTokenizer("abca")


@settings(max_examples=60, deadline=None)
@given(corpus=st.text(min_size=1), data=st.data())
def test_char_round_trip_over_its_alphabet(corpus, data):
    tokenizer = CharTokenizer.from_text(corpus)
    text = data.draw(st.text(alphabet=st.sampled_from(tokenizer.chars)))
    ids = tokenizer.encode(text)
    assert len(ids) == len(text)
    assert tokenizer.decode(ids) == text


# ----- every tokenizer ----------------------------------------------------------------------------


def all_tokenizers(bpe: BPETokenizer) -> list[Tokenizer]:
    return [CharTokenizer.from_text("".join(VARIED_TEXTS), unknown="token"), bpe]


def test_empty_text_gives_no_tokens(bpe):
    for tokenizer in all_tokenizers(bpe):
        assert tokenizer.encode("") == []
        assert tokenizer.decode([]) == ""


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_bpe_encode_then_decode_is_the_identity(bpe, text):
    assert bpe.decode(bpe.encode(text)) == text


@pytest.mark.parametrize("text", VARIED_TEXTS)
def test_varied_texts_round_trip_through_every_tokenizer(bpe, text):
    for tokenizer in all_tokenizers(bpe):
        assert tokenizer.decode(tokenizer.encode(text)) == text


def test_lone_surrogates_are_replaced_not_a_crash(bpe):
    ids = bpe.encode("a\ud800b")
    assert bpe.decode(ids) == "a\ufffdb"
    assert bpe.reference_encode("a\ud800b") == ids
    # A surrogate *pair* written as two code units is read as the character it spells.
    assert bpe.decode(bpe.encode("\ud83d\ude00")) == "😀"


def test_decode_accepts_numpy_and_torch_ids_and_rejects_unknown_ids(bpe):
    ids = bpe.encode("attention")
    assert bpe.decode(np.array(ids)) == "attention"
    assert bpe.decode(torch.tensor(ids)) == "attention"
    for tokenizer in all_tokenizers(bpe):
        with pytest.raises(ValueError, match=f"ids 0 to {tokenizer.vocab_size - 1}"):
            tokenizer.decode([tokenizer.vocab_size])
        with pytest.raises(ValueError, match="whole numbers"):
            tokenizer.decode([1.5])


# ----- JSON ---------------------------------------------------------------------------------------


def test_json_round_trip_encodes_identically(bpe):
    text = "".join(VARIED_TEXTS) + python_docs(3000)
    for tokenizer in all_tokenizers(bpe):
        data = json.loads(json.dumps(tokenizer.to_json()))
        assert data["type"] == tokenizer.kind
        again = tokenizer_from_json(data)
        assert type(again) is type(tokenizer)
        assert again.vocab_size == tokenizer.vocab_size
        assert again.encode(text) == tokenizer.encode(text)


def test_bpe_json_carries_its_merges_compactly(bpe):
    data = bpe.to_json()
    assert data["merges"] == [[left, right] for left, right, _ in bpe.merges]
    assert len(json.dumps(data)) < 20 * len(bpe.merges) + 200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        ({"type": "wordpiece"}, "Unknown tokenizer type 'wordpiece'"),
        ({"type": "char"}, '"chars"'),
        ({"type": "char", "chars": "aa"}, "once"),
        ({"type": "char", "chars": "ab", "unknown": "drop"}, "unknown must be"),
        ({"type": "bpe"}, '"merges"'),
        ({"type": "bpe", "merges": [[97, 300]]}, "only tokens 0 to 255 exist"),
        ({"type": "bpe", "merges": [[97]]}, r"Merge 0 must be \[left id, right id\]"),
        ({"type": "bpe", "merges": [[97, "b"]]}, "whole-number"),
        ({"type": "bpe", "merges": [[97, 98], [97, 98]]}, "same bytes"),
        ({"type": "bpe", "merges": [], "pattern": "(unclosed"}, "not one Attention Lab knows"),
        ({"type": "gpt2"}, '"folder"'),
    ],
)
def test_tokenizer_from_json_says_what_is_wrong(data, message):
    with pytest.raises(ValueError, match=message):
        tokenizer_from_json(data)


def test_space_marks_turn_back_into_spaces():
    from core.tokenizers.labels import unmark_spaces

    assert unmark_spaces(label_text(" the cat")) == " the cat"
    assert unmark_spaces("·the") == " the"  # the mark lesson files used before
