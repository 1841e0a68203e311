"""What every tokenizer can do: text to ids, ids to text, and a visible label for each id."""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Iterable

from core.tokenizers.labels import label_bytes


class Tokenizer(ABC):
    """Turns text into a list of token ids and back.

    `kind` names the family ("char", "bpe" or "gpt2"); `to_json()` writes everything needed to
    rebuild the tokenizer with `core.tokenizers.tokenizer_from_json`.
    """

    kind: str = ""

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """How many different token ids exist (ids run from 0 to vocab_size - 1)."""

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """The token ids of `text`; empty text gives []."""

    @abstractmethod
    def token_bytes(self, token_id: int) -> bytes:
        """The UTF-8 bytes one token stands for (possibly part of a character)."""

    @abstractmethod
    def to_json(self) -> dict:
        """A JSON-serialisable dict with a "type" key, read back by tokenizer_from_json."""

    def decode(self, ids: Iterable[int]) -> str:
        """The text for a sequence of ids. Bytes that do not form whole characters become '�'."""
        data = b"".join(self.token_bytes(token_id) for token_id in self.check_ids(ids))
        return data.decode("utf-8", errors="replace")

    def token_label(self, token_id: int, full: bool = False) -> str:
        """A short display string for one token: '␣' for space, '↵' for newline, '<0xE2>' for a lone byte.

        Labels longer than 12 characters end in '…' unless `full` is True.
        """
        return label_bytes(self.token_bytes(token_id), full=full)

    def check_ids(self, ids: Iterable[int]) -> list[int]:
        """`ids` as plain ints (lists, tuples, numpy arrays and 1-D tensors all work), each in range."""
        return [self.check_id(token_id) for token_id in ids]

    def check_id(self, token_id: int) -> int:
        try:
            token_id = operator.index(token_id)
        except TypeError:
            raise ValueError(f"Token ids must be whole numbers, but got {token_id!r}.") from None
        if not 0 <= token_id < self.vocab_size:
            raise ValueError(
                f"Token id {token_id} does not exist: this {self.kind} tokenizer has ids 0 to "
                f"{self.vocab_size - 1}. Were these ids made by a different tokenizer?"
            )
        return token_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"
