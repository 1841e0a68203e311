"""Tiny random models of every family the core runs, with every weight (biases and norm gains too)
random, so that no part of a decomposition can hide behind a zero or a one."""

from __future__ import annotations

import torch

from core.model.config import GPTConfig
from core.model.model import GPT

FAMILIES = {
    "gpt2": dict(pos_encoding="learned"),
    "gpt2-untied": dict(pos_encoding="learned", tie_embeddings=False, activation="gelu"),
    "llama": dict(pos_encoding="rope", norm="rmsnorm", mlp="swiglu", n_kv_heads=2, bias=False),
    "qwen2": dict(pos_encoding="rope", norm="rmsnorm", mlp="swiglu", n_kv_heads=1, bias=False, qkv_bias=True),
    "pythia": dict(pos_encoding="rope", rope_fraction=0.25, parallel_residual=True, tie_embeddings=False),
    "gpt-neo": dict(
        pos_encoding="learned",
        attention_windows=(None, 3, None),
        scale_scores=False,
        attn_out_bias=True,
        qkv_bias=False,
    ),
    "sinusoidal": dict(pos_encoding="sinusoidal"),
    "no-positions": dict(pos_encoding="none", bias=False),
}


def tiny_model(family: str = "gpt2", vocab_size: int = 40, seed: int = 0, **changes) -> GPT:
    """A 3-layer, 4-head model of `family` with every parameter drawn at random."""
    torch.manual_seed(seed)
    settings = dict(vocab_size=vocab_size, context_length=32, n_layers=3, n_heads=4, d_model=32)
    model = GPT(GPTConfig(**{**settings, **FAMILIES[family], **changes}))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("weight") and ("ln" in name or "norm" in name):
                parameter.copy_(1.0 + 0.3 * torch.randn_like(parameter))  # norm gains around 1
            else:
                parameter.copy_(0.3 * torch.randn_like(parameter))
    return model.eval()


def random_ids(vocab_size: int = 40, n_tokens: int = 12, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab_size, (1, n_tokens), generator=generator)  # (1, T)
