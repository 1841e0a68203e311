"""A Hugging Face `tokenizer.json`, run by the `tokenizers` library: Pythia's, SmolLM2's, Qwen2.5's.

Encoding is the library's own, so the ids are exactly the model's. What we add is `token_bytes`: the
true bytes behind each token, so every panel can label a token the way it labels our own.
Two spellings are undone:
- byte-level BPE (GPT-2, Pythia, SmolLM2, Qwen2): each byte is written as a printable character
  ('Ġ' for a space), GPT-2's byte-to-unicode table;
- sentencepiece style (Llama 2, TinyLlama): '▁' stands for a space, and a byte with no token of its
  own is the byte-fallback token '<0xE2>'.
Added tokens (such as '<|endoftext|>') stand for their own text.

As with our other tokenizers, special tokens are never produced from typed text: a user who types
'<|endoftext|>' gets the characters, not the special token.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from core.files.text_files import missing_file_sentence
from core.tokenizers.base import Tokenizer
from core.tokenizers.gpt2 import unicode_to_byte

SPACE_PIECE = "▁"  # sentencepiece's visible space
BYTE_FALLBACK = re.compile(r"<0x([0-9A-Fa-f]{2})>")


class HFJsonTokenizer(Tokenizer):
    """A tokenizer.json (the whole file's text is kept, so a checkpoint carries it and needs no folder)."""

    kind = "hf_json"

    def __init__(self, json_text: str, source: str = "tokenizer.json") -> None:
        from tokenizers import Tokenizer as LibraryTokenizer  # imported here: only this tokenizer needs it

        try:
            self.library_tokenizer = LibraryTokenizer.from_str(json_text)
        except Exception as error:  # the library raises its own Exception type for any malformed file
            raise ValueError(f"{source} could not be read as a Hugging Face tokenizer ({error}).") from None
        self.library_tokenizer.encode_special_tokens = True  # typed '<|endoftext|>' stays text
        self.json_text = json_text
        self.source = source
        self._bytes = _all_token_bytes(self.library_tokenizer, json.loads(json_text))

    @property
    def vocab_size(self) -> int:
        return len(self._bytes)

    def encode(self, text: str) -> list[int]:
        # add_special_tokens=False: no beginning-of-text token is slipped in front of the user's text.
        return self.library_tokenizer.encode(text, add_special_tokens=False).ids

    def token_bytes(self, token_id: int) -> bytes:
        token = self._bytes[self.check_id(token_id)]
        if token is None:
            raise ValueError(f"Token id {token_id} is a gap in this vocabulary: no token has it.")
        return token

    def to_json(self) -> dict:
        return {"type": self.kind, "tokenizer_json": self.json_text, "source": self.source}

    @classmethod
    def from_json(cls, data: dict) -> HFJsonTokenizer:
        text = data.get("tokenizer_json")
        if not isinstance(text, str):
            raise ValueError('An "hf_json" tokenizer needs "tokenizer_json": the text of a tokenizer.json file.')
        source = data.get("source")
        return cls(text, source if isinstance(source, str) else "tokenizer.json")


def load_hf_json_tokenizer(path: str | Path) -> HFJsonTokenizer:
    """The tokenizer in a tokenizer.json file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(missing_file_sentence(path, f"{path} is missing: expected a Hugging Face tokenizer.json."))
    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}); expected a Hugging Face tokenizer.json.") from None
    return HFJsonTokenizer(text, source=str(path))


# -- every token's true bytes ---------------------------------------------------------------------------
def _all_token_bytes(library_tokenizer, description: dict) -> list[bytes | None]:
    """bytes per id (None for an id no token has)."""
    vocabulary = library_tokenizer.get_vocab(with_added_tokens=True)  # spelling -> id
    added = {token.content for token in library_tokenizer.get_added_tokens_decoder().values()}
    spelling_to_bytes, byte_fallback = _unspelling(description)
    table: list[bytes | None] = [None] * (max(vocabulary.values(), default=-1) + 1)
    for spelling, token_id in vocabulary.items():
        # An added token is its own text, except a byte-fallback '<0x..>' token, which is always its byte.
        as_text = spelling in added and not (byte_fallback and BYTE_FALLBACK.fullmatch(spelling))
        table[token_id] = spelling.encode("utf-8") if as_text else spelling_to_bytes(spelling)
    return table


def _unspelling(description: dict):
    """(A function from a vocabulary spelling to the bytes it stands for, whether '<0x..>' tokens are
    bytes), chosen by the file's decoder."""
    decoders = _decoder_types(description.get("decoder"))
    if "ByteLevel" in decoders:
        byte_of = unicode_to_byte()

        def byte_level(spelling: str) -> bytes:
            if all(char in byte_of for char in spelling):
                return bytes(byte_of[char] for char in spelling)
            return spelling.encode("utf-8")  # not written with the byte table (rare): take it as text

        return byte_level, False
    if "ByteFallback" in decoders or "Metaspace" in decoders or "Replace" in decoders:

        def sentencepiece(spelling: str) -> bytes:
            byte = BYTE_FALLBACK.fullmatch(spelling)
            if byte:
                return bytes([int(byte.group(1), 16)])
            return spelling.replace(SPACE_PIECE, " ").encode("utf-8")

        return sentencepiece, True
    return (lambda spelling: spelling.encode("utf-8")), False


def _decoder_types(decoder) -> set[str]:
    """The types of a decoder and, for a Sequence, of every decoder inside it."""
    if not isinstance(decoder, dict):
        return set()
    types = {decoder.get("type")}
    for inner in decoder.get("decoders") or []:
        types |= _decoder_types(inner)
    return types
