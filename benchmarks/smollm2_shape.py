"""A SmolLM2-135M-shaped model with random weights, for the big-model benchmarks (no download here).

The sizes are those of HuggingFaceTB/SmolLM2-135M's published config.json: a Llama with 30 layers,
d_model 576, 9 query heads sharing 3 key/value heads, SwiGLU MLP of 1536, RMSNorm (eps 1e-5), RoPE with
base 100000, a 49152-token vocabulary, tied output head, 8192-token context; its weights ship as
bfloat16 safetensors (about 270 MB). Our config is made from that dict by core's own reader, so the
benchmark runs exactly what opening the real folder would build. Only the sizes matter for speed.
"""

from __future__ import annotations

SMOLLM2_135M_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "vocab_size": 49152,
    "max_position_embeddings": 8192,
    "rope_theta": 100000.0,
    "rope_scaling": None,
    "rms_norm_eps": 1e-05,
    "hidden_act": "silu",
    "tie_word_embeddings": True,
    "attention_bias": False,
    "mlp_bias": False,
    "bos_token_id": 0,
    "eos_token_id": 0,
    "torch_dtype": "bfloat16",
}


def smollm2_config():
    """Our GPTConfig for SmolLM2-135M, read from its config.json values by core.files.pretrained."""
    from core.files.pretrained import config_from_hf

    return config_from_hf(SMOLLM2_135M_CONFIG, source="SmolLM2-135M config.json")


def smollm2_sized_session():
    """A ModelInUse of the SmolLM2-135M shape with random weights and a character tokenizer
    (so 64 characters are 64 tokens; the ids it never uses are labelled <id>)."""
    import torch

    from app.state.model_in_use import ModelInUse
    from core import GPT
    from core.tokenizers import CharTokenizer

    torch.manual_seed(0)
    tokenizer = CharTokenizer("".join(chr(c) for c in range(32, 127)) + "\n")
    return ModelInUse(GPT(smollm2_config()).eval(), tokenizer, "random SmolLM2-135M-shaped model", trained=False)
