"""Built-in corpora, reading user files, streaming them into compact token arrays."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from core.training.corpora import (
    BUILTIN_CORPORA,
    CorpusError,
    check_corpus_length,
    encode_file,
    encode_text,
    iter_text_blocks,
    load_builtin,
    read_text_file,
    sample_prompts,
    split_at_line_starts,
    token_dtype,
)
from core.tokenizers import BPETokenizer, CharTokenizer


# -- built-in corpora -------------------------------------------------------------------------------
def test_python_docs_is_every_pydoc_topic_in_alphabetical_order():
    from pydoc_data.topics import topics

    text = load_builtin("python-docs")
    assert text == load_builtin("python-docs")  # stable
    assert len(text) > 400_000
    first, last = sorted(topics)[0], sorted(topics)[-1]
    assert text.startswith(topics[first].strip("\n")[:200])
    assert text.rstrip("\n").endswith(topics[last].strip("\n")[-200:])
    positions = [text.index(topics[name].strip("\n")[:300]) for name in ("assert", "class", "if", "while")]
    assert positions == sorted(positions)


def test_lessons_is_a_plain_english_text_of_the_promised_size():
    text = load_builtin("lessons")
    assert 15_000 <= len(text.encode("utf-8")) <= 30_000
    for word in ("token", "embedding", "attention", "query", "key", "value", "softmax", "loss", "gradient"):
        assert word in text.lower(), word


def test_every_listed_corpus_loads_and_an_unknown_name_lists_the_choices():
    assert set(BUILTIN_CORPORA) >= {"python-docs", "lessons"}
    for name, description in BUILTIN_CORPORA.items():
        assert load_builtin(name) and "\n" not in description
    with pytest.raises(ValueError, match="python-docs, lessons"):
        load_builtin("shakespeare")


def test_sample_prompts_are_short_and_some_repeat_themselves():
    prompts = sample_prompts()
    assert 8 <= len(prompts) <= 15
    assert all(0 < len(prompt) <= 120 and not prompt.startswith("#") for prompt in prompts)
    assert any("\n" in prompt for prompt in prompts)  # "\n" in the file became a line break
    repeated = [p for p in prompts if any(p.count(w) >= 2 for w in p.split() if len(w) >= 3)]
    assert len(repeated) >= 4  # repeats are where induction heads show


def test_sample_prompts_encode_with_a_char_tokenizer_of_either_built_in_corpus():
    # The app falls back to a character tokenizer read off the lessons; every prompt must fit it.
    for name in ("lessons", "python-docs"):
        tokenizer = CharTokenizer.from_text(load_builtin(name))
        for prompt in sample_prompts():
            assert tokenizer.decode(tokenizer.encode(prompt)) == prompt


# -- reading a user's file ---------------------------------------------------------------------------
def test_utf8_file_reads_back_exactly_and_loses_its_byte_order_mark(tmp_path):
    text = "naïve café — 注意力\nline two\n"
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert read_text_file(path) == text


def test_characters_cut_between_blocks_are_decoded_whole(tmp_path):
    text = "\ufeffé注🙂x" * 50
    path = tmp_path / "multi.txt"
    path.write_text(text, encoding="utf-8")
    for block_bytes in (1, 2, 3, 5, 7):
        assert "".join(iter_text_blocks(path, block_bytes=block_bytes)) == text[1:]  # only the first BOM goes


def test_invalid_utf8_names_the_byte_offset_and_the_way_out(tmp_path):
    path = tmp_path / "latin1.txt"
    data = "déjà vu\n".encode() * 100 + "café".encode("latin-1")
    path.write_bytes(data)
    offset = data.index(b"\xe9", len(data) - 5)
    for block_bytes in (1 << 20, 3, 64):  # the bad byte in the first block, or found across blocks
        with pytest.raises(CorpusError, match=f"0xe9 at byte offset {offset}.*errors=\"replace\""):
            list(iter_text_blocks(path, block_bytes=block_bytes))
    assert issubclass(CorpusError, ValueError)
    assert read_text_file(path, errors="replace").endswith("caf\ufffd")


def test_a_utf16_file_is_recognised_in_the_error(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_text("hello", encoding="utf-16")  # starts with the byte-order mark FF FE
    with pytest.raises(CorpusError, match="0xff at byte offset 0 .*looks like UTF-16"):
        read_text_file(path)


def test_a_truncated_character_at_the_end_is_an_error_too(tmp_path):
    path = tmp_path / "cut.txt"
    path.write_bytes("abc€".encode()[:-1])  # the euro sign's last byte is missing
    with pytest.raises(CorpusError, match="byte offset 3"):
        read_text_file(path)
    assert read_text_file(path, errors="replace") == "abc\ufffd"


def test_missing_folder_and_unreadable_files_get_plain_sentences(tmp_path, monkeypatch):
    with pytest.raises(CorpusError, match="There is no file at .*nope.txt"):
        read_text_file(tmp_path / "nope.txt")
    with pytest.raises(CorpusError, match="is a folder, not a text file"):
        read_text_file(tmp_path)
    with pytest.raises(CorpusError, match="There is no file"):
        encode_file(tmp_path / "nope.txt", CharTokenizer("ab"))

    locked = tmp_path / "locked.txt"
    locked.write_text("secret")

    def refuse(self, *args, **kwargs):  # tests run as root here, so chmod alone would not refuse
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(CorpusError, match="permission"):
        read_text_file(locked)


def test_an_empty_file_is_an_empty_text_and_then_a_too_short_corpus(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert read_text_file(path) == ""
    ids = encode_file(path, CharTokenizer("ab"))
    assert ids.dtype == np.uint16 and len(ids) == 0
    with pytest.raises(ValueError, match="empty"):
        check_corpus_length(len(ids), context_length=64)


# -- pieces, ids and dtypes ---------------------------------------------------------------------------
def test_token_dtype_is_uint16_up_to_65536_tokens():
    assert token_dtype(1) is np.uint16
    assert token_dtype(65_536) is np.uint16
    assert token_dtype(65_537) is np.uint32
    assert token_dtype(50_257) is np.uint16  # GPT-2's vocabulary fits in two bytes
    with pytest.raises(ValueError):
        token_dtype(0)


def test_pieces_end_where_a_line_starts_and_join_back_to_the_text():
    text = load_builtin("python-docs")[:50_000]  # has indented lines and blank lines
    blocks = [text[i : i + 997] for i in range(0, len(text), 997)]
    pieces = list(split_at_line_starts(blocks, chunk_chars=2_000))
    assert "".join(pieces) == text
    assert len(text) // 2_000 // 2 <= len(pieces) <= len(text) // 2_000
    assert max(len(piece) for piece in pieces) <= 2_000 + 997
    for piece, following in zip(pieces, pieces[1:]):
        assert piece.endswith("\n") and not following[0].isspace()


def test_one_giant_line_is_still_cut_into_bounded_pieces():
    text = "x" * 10_000
    pieces = list(split_at_line_starts([text[i : i + 100] for i in range(0, 10_000, 100)], chunk_chars=100))
    assert "".join(pieces) == text
    assert max(len(piece) for piece in pieces) <= 400


@pytest.mark.parametrize(
    "make_tokenizer", [CharTokenizer.from_text, lambda text: BPETokenizer.train(text, 400)], ids=["char", "bpe"]
)
def test_streamed_file_gives_the_same_ids_as_the_whole_text(tmp_path, make_tokenizer):
    text = load_builtin("python-docs")[:60_000]
    tokenizer = make_tokenizer(text)
    path = tmp_path / "docs.txt"
    path.write_text(text, encoding="utf-8")
    whole = np.array(tokenizer.encode(text))
    streamed = encode_file(path, tokenizer, chunk_chars=3_000)  # about 20 pieces
    assert streamed.dtype == np.uint16
    np.testing.assert_array_equal(streamed, whole)
    np.testing.assert_array_equal(encode_text(text, tokenizer, chunk_chars=3_000), whole)


def test_ids_outside_the_vocabulary_are_refused():
    class Broken:
        vocab_size = 10

        def encode(self, text):
            return [3, 12]

    with pytest.raises(ValueError, match="token id 12.*ids 0 to 9"):
        encode_text("ab", Broken())


def test_check_corpus_length_says_what_is_needed():
    with pytest.raises(ValueError, match=r"has 12 tokens but training needs at least 65 \(context 64 \+ 1 target\)"):
        check_corpus_length(12, context_length=64)
    with pytest.raises(ValueError, match="needs at least 65"):
        check_corpus_length(64, context_length=64)
    check_corpus_length(65, context_length=64)  # exactly one window and its target is enough


# -- memory: big files are streamed --------------------------------------------------------------------
class AsciiBytes:
    """Stands in for a character tokenizer on ASCII text, but encodes in numpy so 20 MB takes no time."""

    vocab_size = 256

    def encode(self, text: str) -> np.ndarray:
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)


def _write_text_file(path: Path, n_bytes: int) -> int:
    line = "the quick brown fox jumps over the lazy dog, and then the dog jumps back\n"
    path.write_text(line * (n_bytes // len(line)), encoding="utf-8")
    return os.path.getsize(path)


def _peak_bytes_while(run) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_a_20mb_file_is_encoded_in_under_3x_its_size(tmp_path):
    """MEMORY TEST: 20 MB of text -> uint16 ids (2 bytes per character) with at most 3x the file held."""
    path = tmp_path / "big.txt"
    size = _write_text_file(path, 20_000_000)
    ids, peak = _peak_bytes_while(lambda: encode_file(path, AsciiBytes()))
    assert len(ids) == size and ids.dtype == np.uint16
    assert 2.0 * size <= peak < 3.0 * size, f"peak {peak / size:.2f}x the file"  # the ids alone are 2x


def test_memory_with_the_real_char_tokenizer_the_extra_is_per_piece_not_per_file(tmp_path):
    """MEMORY TEST: the tokenizer's Python list costs memory per piece; with 1/128 of the file per piece
    (as the default 1 MB pieces are for a 128 MB file) the peak stays under 3x the file."""
    path = tmp_path / "medium.txt"
    size = _write_text_file(path, 1_000_000)
    tokenizer = CharTokenizer.from_text(path.read_text())
    ids, peak = _peak_bytes_while(lambda: encode_file(path, tokenizer, chunk_chars=size // 128))
    assert len(ids) == size
    assert peak < 3.0 * size, f"peak {peak / size:.2f}x the file"
