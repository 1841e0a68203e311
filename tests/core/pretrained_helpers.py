"""Tiny random-weight models of every family, built with transformers and saved as a Hub folder would be."""

from __future__ import annotations

import random
from pathlib import Path

import torch

END_OF_TEXT = "<|endoftext|>"
WORDS = (
    "the",
    "cat",
    "sat",
    "on",
    "mat",
    "attention",
    "is",
    "all",
    "you",
    "need",
    "über",
    "naïve",
    "café",
    "東京",
    "日本語",
    "привет",
    "мир",
    "😀",
    "🚀",
    "👍🏽",
    "x",
    "don't",
    "I'm",
    "3.14",
    "2026",
    "-",
    "...",
)


def mixed_strings(count: int, seed: int = 0) -> list[str]:
    """Strings that stress a tokenizer: unicode, emoji, runs of spaces, digits, tabs, newlines."""
    rng = random.Random(seed)
    pieces = [
        *WORDS,
        " ",
        "  ",
        "   ",
        "\n",
        "\n\n",
        "\t",
        "0",
        "42",
        "1234567",
        "!",
        "?",
        ",",
        "'s",
        " 'll",
        "\u00a0",
        "é",
        "e\u0301",
        "ß",
        "Ω",
        "🤖",
        "a1b2",
        "  \n ",
        "<",
        ">",
        "|",
        "#",
    ]
    strings = ["", " ", "Hello world", "  leading and trailing  ", "\n\nnewlines\n", "1 22 333 4444 55555"]
    while len(strings) < count:
        strings.append("".join(rng.choice(pieces) + rng.choice(("", " ")) for _ in range(rng.randint(1, 12))))
    return strings


def training_text() -> str:
    rng = random.Random(1)
    return " ".join(rng.choice(WORDS) for _ in range(3000))


def byte_level_tokenizer(vocab_size: int = 320):
    """A small byte-level BPE made with Hugging Face's `tokenizers`, GPT-2 style, with <|endoftext|>."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[END_OF_TEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([training_text()], trainer)
    return tokenizer


def hf_reference(family: str, vocab_size: int):
    """(transformers model in eval mode, eager attention so it returns its patterns) for one family."""
    import transformers as t

    common = dict(vocab_size=vocab_size, max_position_embeddings=32, hidden_size=32, bos_token_id=0, eos_token_id=0)
    if family == "gpt2":
        config = t.GPT2Config(
            vocab_size=vocab_size, n_positions=32, n_embd=32, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=0
        )
        model_class = t.GPT2LMHeadModel
    elif family == "gpt_neo":  # layer 1 is local: each token sees only the last 4
        config = t.GPTNeoConfig(
            **common, num_layers=2, num_heads=4, attention_types=[[["global", "local"], 1]], window_size=4
        )
        model_class = t.GPTNeoForCausalLM
    elif family == "gpt_neox":  # a quarter of each head's dims turned, attention and MLP side by side
        config = t.GPTNeoXConfig(
            **common,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            rotary_pct=0.5,
            use_parallel_residual=True,
            tie_word_embeddings=False,
        )
        model_class = t.GPTNeoXForCausalLM
    elif family == "llama":  # 4 query heads share 2 key/value heads
        config = t.LlamaConfig(
            **common,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            intermediate_size=64,
            tie_word_embeddings=True,
            rope_theta=500.0,
        )
        model_class = t.LlamaForCausalLM
    elif family == "qwen2":
        config = t.Qwen2Config(
            **common,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=1,
            intermediate_size=64,
            tie_word_embeddings=True,
        )
        model_class = t.Qwen2ForCausalLM
    else:
        raise ValueError(family)
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    model = model_class(config).eval()
    with torch.no_grad():  # the 0.02 init makes every logit tiny; a wide spread makes the test sharp
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.3)
    return model


def save_family(family: str, folder: Path, safe_serialization: bool = True):
    """A saved folder like the Hub's: config.json, weights, tokenizer.json (GPT-2/Neo also vocab.json, merges.txt)."""
    tokenizer = byte_level_tokenizer()
    model = hf_reference(family, tokenizer.get_vocab_size())
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=safe_serialization)
    tokenizer.save(str(folder / "tokenizer.json"))
    if family in ("gpt2", "gpt_neo"):
        tokenizer.model.save(str(folder))  # vocab.json and merges.txt
    return model, tokenizer
