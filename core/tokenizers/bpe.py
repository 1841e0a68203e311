"""A byte-level BPE tokenizer trained in this project, its merges kept in order for replay.

Token ids 0..255 are single bytes; merge i (left id, right id) creates token 256 + i, whose bytes
are the left token's bytes followed by the right one's. Encoding a word starts from its bytes and
applies the learned merges, earliest first, until none applies.

Two encoders give the same ids: tiktoken (fast, used by `encode`) and `reference_encode`, a few
lines of Python that do the merging step by step; a test checks they agree.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.files.json_values import is_whole_number
from core.tokenizers.bpe_training import N_BYTE_TOKENS, Merge, Pair, ProgressCallback, merge_pair, train_merges
from core.tokenizers.byte_level import ByteLevelTokenizer
from core.tokenizers.pretokenize import GPT2_PATTERN, KNOWN_PATTERNS, MAX_WORD_BYTES, compile_pattern, split_into_words

# Bounds on what a list of merges may build. Each merge joins two tokens, so 40 merges that each join
# a token with itself spell a token of 2**40 bytes: lengths are added up and checked before any bytes
# are joined. Training never makes a token longer than one piece of a word, and real vocabularies spell
# a few MB in all.
MAX_TOKEN_BYTES = MAX_WORD_BYTES
MAX_VOCAB_BYTES = 64 * 2**20


class BPETokenizer(ByteLevelTokenizer):
    kind = "bpe"

    def __init__(self, merges: Sequence[Sequence[int]], pattern: str = GPT2_PATTERN) -> None:
        """`merges[i]` is (left id, right id) or (left id, right id, 256 + i)."""
        compile_pattern(pattern)  # a bad pattern is a ValueError here, not a crash inside tiktoken
        self.merges: list[Merge] = check_merges(merges)
        self.vocab: list[bytes] = [bytes([byte]) for byte in range(N_BYTE_TOKENS)]
        for left, right, _ in self.merges:
            self.vocab.append(self.vocab[left] + self.vocab[right])
        ranks = {token: rank for rank, token in enumerate(self.vocab)}
        if len(ranks) != len(self.vocab):
            raise ValueError("Two merges make the same bytes; every token must spell different bytes.")
        super().__init__(f"attention-lab-bpe-{len(self.vocab)}", pattern, ranks, special_tokens={})

    @classmethod
    def train(
        cls, text: str, vocab_size: int, progress: ProgressCallback | None = None, pattern: str = GPT2_PATTERN
    ) -> BPETokenizer:
        """Learn a vocabulary of (at most) `vocab_size` tokens from `text`; see bpe_training.py."""
        return cls(train_merges(text, vocab_size, pattern, progress), pattern)

    def token_bytes(self, token_id: int) -> bytes:
        return self.vocab[self.check_id(token_id)]

    def encode_with_merges(self, text: str, n_merges: int) -> list[int]:
        """`text` encoded using only the first `n_merges` merges (0 = raw bytes): BPE replayed."""
        if not 0 <= n_merges <= len(self.merges):
            raise ValueError(f"n_merges must be between 0 and {len(self.merges)}, not {n_merges}.")
        # pair -> the token it makes; new ids grow with merge order, so the smallest id is the earliest merge
        merge_of: dict[Pair, int] = {(left, right): new for left, right, new in self.merges[:n_merges]}
        ids: list[int] = []
        for word in split_into_words(text, self.pattern):
            ids.extend(apply_merges(list(word.encode("utf-8")), merge_of))
        return ids

    def reference_encode(self, text: str) -> list[int]:
        """The same ids as `encode`, computed in plain Python with every merge."""
        return self.encode_with_merges(text, len(self.merges))

    def to_json(self) -> dict:
        return {"type": self.kind, "pattern": self.pattern, "merges": [[left, right] for left, right, _ in self.merges]}

    @classmethod
    def from_json(cls, data: dict) -> BPETokenizer:
        merges, pattern = data.get("merges"), data.get("pattern", GPT2_PATTERN)
        if not isinstance(merges, list):
            raise ValueError('A "bpe" tokenizer needs "merges": a list of [left id, right id] pairs.')
        if not isinstance(pattern, str):
            raise ValueError('"pattern" must be a string: the regular expression that splits text into words.')
        if pattern not in KNOWN_PATTERNS.values():
            raise ValueError(
                f"The tokenizer's word-splitting pattern is not one Attention Lab knows "
                f"({', '.join(KNOWN_PATTERNS)}); an unknown regular expression could make encoding "
                f"hang, so this tokenizer is refused."
            )
        return cls(merges, pattern)


def apply_merges(ids: list[int], merge_of: dict[Pair, int]) -> list[int]:
    """Merge the pair learned earliest, again and again, until no adjacent pair is a learned merge."""
    while len(ids) >= 2:
        pairs = set(zip(ids, ids[1:]))
        learned = [pair for pair in pairs if pair in merge_of]
        if not learned:
            break
        earliest = min(learned, key=merge_of.__getitem__)
        ids = merge_pair(ids, earliest, merge_of[earliest])
    return ids


def check_merges(merges: Sequence[Sequence[int]]) -> list[Merge]:
    """Merges as (left, right, new) triples, each naming only tokens that exist before it and none
    spelling more bytes than a token may (checked on lengths, before any bytes are joined)."""
    checked: list[Merge] = []
    token_lengths = [1] * N_BYTE_TOKENS  # bytes each token spells
    vocab_bytes = N_BYTE_TOKENS
    for index, merge in enumerate(merges):
        new_id = N_BYTE_TOKENS + index
        if not isinstance(merge, (list, tuple)) or len(merge) not in (2, 3):
            raise ValueError(f"Merge {index} must be [left id, right id], not {merge!r}.")
        if not all(is_whole_number(part) for part in merge):
            raise ValueError(f"Merge {index} must hold whole-number token ids, not {merge!r}.")
        left, right = merge[0], merge[1]
        if not (0 <= left < new_id and 0 <= right < new_id):
            raise ValueError(
                f"Merge {index} joins tokens {left} and {right}, but only tokens 0 to {new_id - 1} exist "
                f"before it: a merge can only join tokens made earlier."
            )
        if len(merge) == 3 and merge[2] != new_id:
            raise ValueError(f"Merge {index} must create token {new_id}, not {merge[2]}.")
        length = token_lengths[left] + token_lengths[right]
        vocab_bytes += length
        if length > MAX_TOKEN_BYTES:
            raise ValueError(
                f"Merge {index} makes a token of {length:,} bytes; tokens are at most "
                f"{MAX_TOKEN_BYTES:,} bytes, so these merges are damaged or made to fill the memory."
            )
        if vocab_bytes > MAX_VOCAB_BYTES:
            raise ValueError(
                f"The merges up to merge {index} spell {vocab_bytes:,} bytes of tokens, far more than any "
                f"vocabulary ({MAX_VOCAB_BYTES:,} at most); they are damaged or made to fill the memory."
            )
        token_lengths.append(length)
        checked.append((left, right, new_id))
    return checked
