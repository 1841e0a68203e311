"""The model zoo's figures: each parameter count is checked against the architecture it names, built by
transformers from that model's published config on the meta device (no memory, nothing downloaded)."""

import pytest
import torch

from core.files.hub import looks_like_hub_id
from core.files.zoo import ZOO, zoo_entry

transformers = pytest.importorskip("transformers")

# The sizes each model's config.json declares (only those that change the parameter count).
CONFIGS = {
    "gpt2": lambda t: t.GPT2Config(),
    "gpt2-medium": lambda t: t.GPT2Config(n_embd=1024, n_layer=24, n_head=16),
    "roneneldan/TinyStories-33M": lambda t: t.GPTNeoConfig(
        hidden_size=768,
        num_layers=4,
        num_heads=16,
        attention_types=[[["global", "local"], 2]],
        max_position_embeddings=2048,
        vocab_size=50257,
        window_size=256,
    ),
    "EleutherAI/pythia-70m": lambda t: t.GPTNeoXConfig(
        hidden_size=512,
        num_hidden_layers=6,
        num_attention_heads=8,
        intermediate_size=2048,
        vocab_size=50304,
        rotary_pct=0.25,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
    ),
    "EleutherAI/pythia-160m": lambda t: t.GPTNeoXConfig(
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        vocab_size=50304,
        rotary_pct=0.25,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
    ),
    "HuggingFaceTB/SmolLM2-135M": lambda t: t.LlamaConfig(
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        vocab_size=49152,
        tie_word_embeddings=True,
    ),
    "Qwen/Qwen2.5-0.5B": lambda t: t.Qwen2Config(
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        vocab_size=151936,
        tie_word_embeddings=True,
    ),
}


def test_the_zoo_lists_the_recommended_models():
    assert [entry.model_id for entry in ZOO] == [
        "roneneldan/TinyStories-33M",
        "gpt2",
        "gpt2-medium",
        "EleutherAI/pythia-70m",
        "EleutherAI/pythia-160m",
        "HuggingFaceTB/SmolLM2-135M",
        "Qwen/Qwen2.5-0.5B",
    ]
    assert all(looks_like_hub_id(entry.model_id) and entry.shows for entry in ZOO)
    assert zoo_entry("gpt2").family == "GPT-2" and zoo_entry("nonsense") is None


@pytest.mark.parametrize("model_id", CONFIGS)
def test_each_parameter_count_is_what_the_architecture_holds(model_id):
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(CONFIGS[model_id](transformers))
    entry = zoo_entry(model_id)
    assert entry.parameters == model.num_parameters()
    assert entry.float32_bytes == 4 * model.num_parameters()
