"""Tokenizers: text -> token ids -> text, with a visible label for every token.

- CharTokenizer: one token per character of a corpus.
- BPETokenizer: byte-level BPE trained here from scratch, its merges kept in order for replay.
- load_gpt2_tokenizer(folder): GPT-2's own tokenizer from local files.
- HFJsonTokenizer / load_hf_json_tokenizer(path): any Hugging Face tokenizer.json (Pythia, SmolLM2, Qwen2.5).
All share the Tokenizer interface and serialise with to_json() / tokenizer_from_json().

    base.py            what every tokenizer can do (the Tokenizer interface)
    char.py            one token per character
    pretokenize.py     cutting text into words before BPE, as GPT-2 does
    bpe_training.py    training byte-level BPE from scratch
    bpe.py             the BPE tokenizer trained here
    byte_level.py      encoding and decoding every byte-level BPE shares (through tiktoken)
    gpt2.py            GPT-2's own tokenizer, read from disk
    hf_json.py         a Hugging Face tokenizer.json
    labels.py          display strings for tokens: spaces, newlines, stray bytes made visible
    serialization.py   any tokenizer rebuilt from its to_json() dict
"""

from core.tokenizers.base import Tokenizer
from core.tokenizers.bpe import BPETokenizer
from core.tokenizers.char import CharTokenizer
from core.tokenizers.gpt2 import GPT2Tokenizer, load_gpt2_tokenizer
from core.tokenizers.hf_json import HFJsonTokenizer, load_hf_json_tokenizer
from core.tokenizers.labels import label_bytes, label_text
from core.tokenizers.pretokenize import GPT2_PATTERN
from core.tokenizers.serialization import tokenizer_from_json

__all__ = [
    "Tokenizer",
    "CharTokenizer",
    "BPETokenizer",
    "GPT2Tokenizer",
    "load_gpt2_tokenizer",
    "HFJsonTokenizer",
    "load_hf_json_tokenizer",
    "tokenizer_from_json",
    "label_bytes",
    "label_text",
    "GPT2_PATTERN",
]
