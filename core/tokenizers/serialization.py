"""Rebuilding any tokenizer from the dict its `to_json()` wrote."""

from __future__ import annotations

from core.tokenizers.base import Tokenizer
from core.tokenizers.bpe import BPETokenizer
from core.tokenizers.char import CharTokenizer
from core.tokenizers.gpt2 import GPT2Tokenizer
from core.tokenizers.hf_json import HFJsonTokenizer

TOKENIZER_TYPES: dict[str, type[Tokenizer]] = {
    "char": CharTokenizer,
    "bpe": BPETokenizer,
    "gpt2": GPT2Tokenizer,
    "hf_json": HFJsonTokenizer,
}


def tokenizer_from_json(data: dict) -> Tokenizer:
    """The tokenizer described by `data`; a ValueError says what is missing or wrong."""
    if not isinstance(data, dict):
        raise ValueError(f"A tokenizer is described by a JSON object (a dict), not {type(data).__name__}.")
    kind = data.get("type")
    if kind not in TOKENIZER_TYPES:
        raise ValueError(
            f"Unknown tokenizer type {kind!r}; \"type\" must be one of {', '.join(map(repr, TOKENIZER_TYPES))}."
        )
    return TOKENIZER_TYPES[kind].from_json(data)
