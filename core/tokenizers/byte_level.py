"""The part every byte-level BPE tokenizer shares: encoding and decoding through tiktoken.

tiktoken needs three things: the pre-tokenisation pattern, the "mergeable ranks" (every token's
bytes -> its rank, which is also its id; a lower rank is merged first) and any special tokens.
"""

from __future__ import annotations

from collections.abc import Iterable

import tiktoken

from core.tokenizers.base import Tokenizer


class ByteLevelTokenizer(Tokenizer):
    """A tokenizer whose tokens are byte strings, encoded with a `tiktoken.Encoding`.

    Lone surrogates cannot be written as UTF-8; encode turns them into '�' first (as tiktoken does),
    so such strings do not come back unchanged. Every other string does.
    """

    def __init__(self, name: str, pattern: str, ranks: dict[bytes, int], special_tokens: dict[str, int]) -> None:
        self.pattern = pattern
        self.encoding = tiktoken.Encoding(
            name=name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=special_tokens
        )

    @property
    def vocab_size(self) -> int:
        return self.encoding.n_vocab

    def encode(self, text: str) -> list[int]:
        # Special tokens are never produced from text: "<|endoftext|>" typed by a user is just text.
        return self.encoding.encode_ordinary(text)

    def decode(self, ids: Iterable[int]) -> str:
        try:
            data = self.encoding.decode_bytes(self.check_ids(ids))
        except KeyError as error:  # an id inside the range that no token has
            raise ValueError(f"Cannot decode: {error.args[0]}; no token has that id.") from None
        return data.decode("utf-8", errors="replace")

    def token_bytes(self, token_id: int) -> bytes:
        token_id = self.check_id(token_id)
        try:
            return self.encoding.decode_single_token_bytes(token_id)
        except KeyError:
            raise ValueError(f"Token id {token_id} is a gap in this vocabulary: no token has it.") from None
