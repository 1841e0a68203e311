"""From text to a compact numpy array of token ids, one piece at a time.

    ids = encode_text(text, tokenizer)          # np.uint16 when the vocabulary fits, else np.uint32
    ids = encode_file("big.txt", tokenizer)     # streams the file; memory stays near the size of ids
    check_corpus_length(len(ids), context_length=64)

A long text is cut into pieces of about `chunk_chars` characters. Each piece ends just before a line
that starts with a visible character, so no word is cut in half: for a character tokenizer, and for a
BPE tokenizer whose pre-tokenizer splits at line breaks (GPT-2's does), the pieces encode to exactly
the ids the whole text would. The ids go into one array that grows in place, so they are never held
twice; a 100 MB file needs about 2 bytes per token plus one piece of text at a time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from core.files.text_files import iter_text_blocks

CHUNK_CHARS = 1 << 20  # characters handed to the tokenizer at once when encoding a long text
_LARGEST_UINT16_VOCAB = 1 << 16
_LARGEST_UINT32_VOCAB = 1 << 32


def token_dtype(vocab_size: int) -> type[np.unsignedinteger]:
    """The smallest unsigned dtype that holds every id of the vocabulary (ids are 0 .. vocab_size - 1)."""
    if not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive whole number, not {vocab_size!r}.")
    if vocab_size <= _LARGEST_UINT16_VOCAB:
        return np.uint16
    if vocab_size <= _LARGEST_UINT32_VOCAB:
        return np.uint32
    raise ValueError(f"A vocabulary of {vocab_size:,} tokens is too large to store; keep it under 2^32.")


# -- cutting a long text into pieces ------------------------------------------------------------------
def split_at_line_starts(blocks: Iterable[str], chunk_chars: int = CHUNK_CHARS) -> Iterator[str]:
    """Re-cut text blocks into pieces of about `chunk_chars` characters that end at a line start.

    Once `chunk_chars` characters have gathered, they are cut at the last line start among them: the
    position just after a newline whose next character is not whitespace. Text with no such place
    for 4 × chunk_chars characters (one giant line) is cut where it stands.
    """
    if chunk_chars < 1:
        raise ValueError(f"chunk_chars must be at least 1, not {chunk_chars}.")
    carry = ""
    for block in blocks:
        carry += block
        if len(carry) < chunk_chars:
            continue
        cut = _last_line_start(carry)
        if cut == 0 and len(carry) >= 4 * chunk_chars:
            cut = len(carry)
        if cut:
            yield carry[:cut]
            carry = carry[cut:]
    if carry:
        yield carry


def _last_line_start(text: str) -> int:
    """Index just after the last newline followed by a visible character, or 0 if there is none."""
    newline = text.rfind("\n", 0, len(text) - 1)  # the newline must have a character after it
    while newline >= 0 and text[newline + 1].isspace():
        newline = text.rfind("\n", 0, newline)
    return newline + 1


def _slices(text: str, size: int) -> Iterator[str]:
    return (text[start : start + size] for start in range(0, len(text), size))


# -- encoding ----------------------------------------------------------------------------------------
def encode_text(text: str, tokenizer, chunk_chars: int = CHUNK_CHARS) -> np.ndarray:
    """Token ids of `text` as a 1-D array of token_dtype(tokenizer.vocab_size)."""
    if not isinstance(text, str):
        raise TypeError(f"encode_text needs a str, not {type(text).__name__}.")
    return _encode_pieces(
        split_at_line_starts(_slices(text, chunk_chars), chunk_chars), tokenizer, expected_chars=len(text)
    )


def encode_file(
    path: str | os.PathLike, tokenizer, chunk_chars: int = CHUNK_CHARS, errors: str = "strict"
) -> np.ndarray:
    """Token ids of a UTF-8 text file, read and encoded a piece at a time.

    Raises CorpusError (a ValueError) for a missing, unreadable or non-UTF-8 file; see read_text_file.
    """
    try:
        size_in_bytes = os.stat(path).st_size  # at least the number of characters in the file
    except OSError:
        size_in_bytes = 0  # iter_text_blocks explains what is wrong with the path when it opens it
    blocks = iter_text_blocks(path, errors=errors, block_bytes=chunk_chars)
    return _encode_pieces(split_at_line_starts(blocks, chunk_chars), tokenizer, expected_chars=size_in_bytes)


def _encode_pieces(pieces: Iterable[str], tokenizer, expected_chars: int) -> np.ndarray:
    """Encode piece by piece into one array sized from the first pieces' tokens-per-character."""
    vocab_size = tokenizer.vocab_size
    dtype = token_dtype(vocab_size)
    ids = np.empty(0, dtype=dtype)
    n_ids = n_chars = 0
    for piece in pieces:
        piece_ids = _checked_ids(tokenizer.encode(piece), vocab_size, dtype)
        n_chars += len(piece)
        needed = n_ids + len(piece_ids)
        if needed > len(ids):
            tokens_per_char = needed / max(n_chars, 1)
            estimate = math.ceil(tokens_per_char * expected_chars * 1.02) + 1024
            ids.resize(max(needed, estimate, int(len(ids) * 1.25)), refcheck=False)  # in place (realloc)
        ids[n_ids:needed] = piece_ids
        n_ids = needed
    ids.resize(n_ids, refcheck=False)  # give back the unused end, still without a copy
    return ids


def _checked_ids(ids: Sequence[int] | np.ndarray, vocab_size: int, dtype) -> np.ndarray:
    """The tokenizer's ids as `dtype`, after checking they fit the vocabulary it claims."""
    array = np.asarray(ids)
    if array.size == 0:
        return np.empty(0, dtype=dtype)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError(
            f"The tokenizer must return a flat list of whole numbers, not {array.dtype} values of shape {array.shape}."
        )
    low, high = int(array.min()), int(array.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(
            f"The tokenizer produced token id {bad}, but its vocabulary has ids 0 to "
            f"{vocab_size - 1} only; the tokenizer is inconsistent, rebuild it from the text."
        )
    return array.astype(dtype, copy=False)


# -- is it long enough to train on? --------------------------------------------------------------------
def check_corpus_length(n_tokens: int, context_length: int) -> None:
    """Raise ValueError unless the corpus holds one context window plus the token it must predict."""
    if context_length < 1:
        raise ValueError(f"The context length must be at least 1 token, not {context_length}.")
    needed = context_length + 1
    if n_tokens == 0:
        raise ValueError(
            f"The corpus is empty (0 tokens) but training needs at least {needed} "
            f"(context {context_length} + 1 target); pick a text that is not empty."
        )
    if n_tokens < needed:
        raise ValueError(
            f"The corpus has {n_tokens} tokens but training needs at least {needed} "
            f"(context {context_length} + 1 target); pick a longer text or a shorter context."
        )
