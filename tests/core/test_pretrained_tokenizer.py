"""The tokenizer.json tokenizer: true bytes per token (byte-level and sentencepiece byte fallback),
special tokens never made from typed text, and a round trip through our JSON."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("tokenizers")
sys.path.insert(0, str(Path(__file__).parent))

from core.tokenizers import HFJsonTokenizer, load_hf_json_tokenizer, tokenizer_from_json  # noqa: E402
from pretrained_helpers import END_OF_TEXT, byte_level_tokenizer, mixed_strings, training_text  # noqa: E402


@pytest.fixture(scope="module")
def byte_level():
    return HFJsonTokenizer(byte_level_tokenizer().to_str())


def _sentencepiece_style():
    """A Llama-2-style BPE: '▁' for spaces, and bytes with no token of their own as <0x..> tokens."""
    from tokenizers import Tokenizer, decoders, models, normalizers, trainers

    tokenizer = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tokenizer.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    byte_tokens = [f"<0x{byte:02X}>" for byte in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", *byte_tokens], show_progress=False)
    tokenizer.train_from_iterator([training_text().replace("😀", "")], trainer)
    return HFJsonTokenizer(tokenizer.to_str())


def test_byte_level_tokens_give_their_true_bytes(byte_level):
    space_the = byte_level.encode(" the")
    assert [byte_level.token_bytes(i) for i in space_the] == [b" the"]
    assert byte_level.token_label(space_the[0]) == "␣the"
    emoji = byte_level.encode("🦜")  # not in the training text: one token per byte
    assert b"".join(byte_level.token_bytes(i) for i in emoji) == "🦜".encode()
    assert byte_level.token_label(emoji[0]).startswith("<0x")  # a lone byte is shown as a byte


def test_sentencepiece_byte_fallback_tokens_are_single_bytes():
    tokenizer = _sentencepiece_style()
    ids = tokenizer.encode("a 🦜")
    pieces = [tokenizer.token_bytes(i) for i in ids]
    assert b"".join(pieces) == " a 🦜".encode()  # sentencepiece puts a space in front of the text
    assert pieces[-4:] == [bytes([b]) for b in "🦜".encode()]
    assert tokenizer.token_bytes(tokenizer.library_tokenizer.token_to_id("<0xE2>")) == b"\xe2"


def test_typed_special_tokens_stay_text(byte_level):
    special = byte_level.library_tokenizer.token_to_id(END_OF_TEXT)
    ids = byte_level.encode(f"a{END_OF_TEXT}b")
    assert special not in ids
    assert byte_level.decode(ids) == f"a{END_OF_TEXT}b"
    assert byte_level.token_bytes(special) == END_OF_TEXT.encode()  # it still decodes as itself


def test_json_round_trip_keeps_every_id(byte_level):
    copy = tokenizer_from_json(byte_level.to_json())
    assert isinstance(copy, HFJsonTokenizer) and copy.vocab_size == byte_level.vocab_size
    for text in mixed_strings(100):
        assert copy.encode(text) == byte_level.encode(text)


def test_files_that_are_not_tokenizers_are_sentences(tmp_path):
    with pytest.raises(ValueError, match="is missing"):
        load_hf_json_tokenizer(tmp_path / "tokenizer.json")
    (tmp_path / "tokenizer.json").write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_hf_json_tokenizer(tmp_path / "tokenizer.json")
    with pytest.raises(ValueError, match='needs "tokenizer_json"'):
        tokenizer_from_json({"type": "hf_json"})


def test_ids_outside_the_vocabulary_are_refused(byte_level):
    with pytest.raises(ValueError, match="does not exist"):
        byte_level.decode([byte_level.vocab_size])
