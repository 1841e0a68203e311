"""The simplest tokenizer: one token per character, the vocabulary read off a corpus."""

from __future__ import annotations

from collections.abc import Iterable

from core.tokenizers.base import Tokenizer
from core.tokenizers.labels import label_char

UNKNOWN_POLICIES = ("error", "token")
# What an unknown token decodes to: the replacement character, so the gap stays visible.
UNKNOWN_TEXT = "\ufffd"
UNKNOWN_LABEL = "<unk>"


class CharTokenizer(Tokenizer):
    """Token i is the i-th character of `chars`.

    unknown="error": encoding a character outside the vocabulary raises ValueError.
    unknown="token": such characters become one extra token (the last id), labelled '<unk>'.
    Any Python string works as a character here, lone surrogates included.
    """

    kind = "char"

    def __init__(self, chars: str, unknown: str = "error") -> None:
        if unknown not in UNKNOWN_POLICIES:
            raise ValueError(f"unknown must be 'error' or 'token', not {unknown!r}.")
        if not isinstance(chars, str) or not chars:
            raise ValueError("A character tokenizer needs at least one character in its vocabulary.")
        if len(set(chars)) != len(chars):
            repeated = sorted({char for char in chars if chars.count(char) > 1})
            raise ValueError(f"Each character may appear once in the vocabulary, but {repeated!r} repeat.")
        self.chars = chars
        self.unknown = unknown
        self._id_of = {char: index for index, char in enumerate(chars)}
        # The unknown token, when there is one, comes after every real character.
        self.unknown_id: int | None = len(chars) if unknown == "token" else None

    @classmethod
    def from_text(cls, text: str, unknown: str = "error") -> CharTokenizer:
        """Vocabulary = the sorted distinct characters of `text`."""
        if not text:
            raise ValueError("The corpus is empty: give some text to read the characters from.")
        return cls("".join(sorted(set(text))), unknown=unknown)

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + (1 if self.unknown_id is not None else 0)

    def encode(self, text: str) -> list[int]:
        ids = []
        for position, char in enumerate(text):
            token_id = self._id_of.get(char, self.unknown_id)
            if token_id is None:
                raise ValueError(
                    f"Character {char!r} (U+{ord(char):04X}) at position {position} is not in this "
                    f"tokenizer's vocabulary of {len(self.chars)} characters. Build the vocabulary from "
                    f"text that contains it, or use unknown='token' to map unseen characters to <unk>."
                )
            ids.append(token_id)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self._char(token_id) for token_id in self.check_ids(ids))

    def token_bytes(self, token_id: int) -> bytes:
        # surrogatepass: a lone surrogate in the vocabulary still has bytes to show.
        return self._char(self.check_id(token_id)).encode("utf-8", errors="surrogatepass")

    def token_label(self, token_id: int, full: bool = False) -> str:
        token_id = self.check_id(token_id)
        if token_id == self.unknown_id:
            return UNKNOWN_LABEL
        return label_char(self.chars[token_id])

    def to_json(self) -> dict:
        return {"type": self.kind, "chars": self.chars, "unknown": self.unknown}

    @classmethod
    def from_json(cls, data: dict) -> CharTokenizer:
        chars = data.get("chars")
        if not isinstance(chars, str):
            raise ValueError('A "char" tokenizer needs "chars": a string holding its vocabulary.')
        return cls(chars, unknown=data.get("unknown", "error"))

    def _char(self, token_id: int) -> str:
        return UNKNOWN_TEXT if token_id == self.unknown_id else self.chars[token_id]
