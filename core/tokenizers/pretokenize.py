"""Before BPE: cut text into words, the way GPT-2 does, so merges never cross a word boundary.

A "word" keeps the space in front of it (" the"), so ' the' and 'the' can become different tokens,
and "'s", runs of digits, runs of punctuation and runs of whitespace are words of their own.
"""

from __future__ import annotations

import functools

import regex

# GPT-2's pre-tokenisation pattern (the one tiktoken's "gpt2" encoding uses).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# The patterns a saved tokenizer may name. A file could carry any regex, and a badly backtracking one
# makes encoding hang, so only these are accepted when a tokenizer is read from a file.
KNOWN_PATTERNS = {"GPT-2": GPT2_PATTERN}
# Training cuts a longer word into pieces of this many bytes, so no token grows longer (a file of one
# letter repeated would otherwise double a token's length with every merge), and a file that is one
# 5 MB "word" (a DNA sequence, a base64 blob: no spaces) is a few thousand pieces, not one list.
# Encoding is not cut: tiktoken applies the learned merges to a word of any length.
MAX_WORD_BYTES = 4096


@functools.lru_cache(maxsize=8)
def compile_pattern(pattern: str) -> regex.Pattern:
    try:
        return regex.compile(pattern)
    except regex.error as error:
        raise ValueError(f"The pre-tokenisation pattern {pattern!r} is not a valid regex: {error}.") from None


def split_into_words(text: str, pattern: str = GPT2_PATTERN) -> list[str]:
    """`text` cut into the pieces BPE works on inside: 'Hi there' -> ['Hi', ' there']."""
    return compile_pattern(pattern).findall(replace_lone_surrogates(text))


def training_pieces(word: bytes, max_bytes: int = MAX_WORD_BYTES) -> list[bytes]:
    """A word's UTF-8 bytes, cut into pieces of at most `max_bytes` (see MAX_WORD_BYTES)."""
    return [word[start : start + max_bytes] for start in range(0, len(word), max_bytes)]


def replace_lone_surrogates(text: str) -> str:
    """Lone surrogates (which have no UTF-8 form) become '�', exactly as tiktoken does it.

    Such strings therefore do not survive encode -> decode; every other string does.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
