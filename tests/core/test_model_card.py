"""The "this model" card names each architecture's choices and counts its parameters by part."""

from core.model.config import GPTConfig
from core.model.model import GPT
from core.model.model_card import model_card
from core.model.param_count import count_parameters

GPT2_LIKE = GPTConfig(vocab_size=300, context_length=32, d_model=64, n_layers=2, n_heads=4)
LLAMA_LIKE = GPTConfig(
    vocab_size=300,
    context_length=32,
    d_model=64,
    n_layers=2,
    n_heads=4,
    n_kv_heads=2,
    pos_encoding="rope",
    norm="rmsnorm",
    mlp="swiglu",
    bias=False,
    qkv_bias=True,
)
PYTHIA_LIKE = GPTConfig(
    vocab_size=300,
    context_length=32,
    d_model=64,
    n_layers=2,
    n_heads=4,
    pos_encoding="rope",
    rope_fraction=0.25,
    parallel_residual=True,
    tie_embeddings=False,
    activation="gelu",
)
NEO_LIKE = GPTConfig(
    vocab_size=300,
    context_length=32,
    d_model=64,
    n_layers=2,
    n_heads=4,
    qkv_bias=False,
    attention_windows=(None, 8),
    scale_scores=False,
)


def test_a_gpt2_like_card():
    card = model_card(GPT2_LIKE, source="GPT-2 “gpt2”")
    rows = dict(card.rows)
    assert rows["Norm"].startswith("LayerNorm") and rows["MLP"].startswith("GELU (tanh")
    assert rows["Attention"].startswith("multi-head: 4 heads of 16 dims")
    assert rows["Biases"] == "everywhere" and rows["Output head"].startswith("tied")
    assert card.summary() == "LayerNorm · GELU · learned positions · tied head"
    assert card.text().startswith("Model: GPT-2 “gpt2”\nSize: 2 layers, d_model 64")


def test_a_llama_like_card_shows_the_shared_key_value_heads_and_their_saving():
    card = model_card(LLAMA_LIKE)
    rows = dict(card.rows)
    assert rows["Attention"].startswith("grouped-query: 4 heads of 16 dims share 2 key/value head(s), 2 query heads")
    assert rows["Biases"] == "on query/key/value"
    assert card.summary() == "RMSNorm · SwiGLU · RoPE · grouped-query 4/2 · tied head"
    parts = dict(card.parameters)
    assert parts["total"] == GPT(LLAMA_LIKE).num_params()
    # each layer's c_attn makes 2 fewer heads of keys and 2 fewer of values: 2·(2·16)·64 weights + 2·(2·16) biases
    assert parts["saved by shared key/value heads"] == 2 * (2 * 32 * 64 + 2 * 32)


def test_pythia_and_neo_choices():
    pythia = dict(model_card(PYTHIA_LIKE).rows)
    assert "turning 4 of 16 dims (25%)" in pythia["Positions"] and pythia["Block"].startswith("parallel")
    assert pythia["Output head"].startswith("separate")
    neo = model_card(NEO_LIKE)
    assert "local layers 1 see only the last 8 tokens" in dict(neo.rows)["Attention"]
    assert "not divided by √d_head" in dict(neo.rows)["Attention"]
    assert dict(neo.rows)["Biases"] == "on attention output, MLP, norms"
    assert "local windows" in neo.summary()


def test_the_parts_add_up_to_the_built_models_parameters():
    for config in (GPT2_LIKE, LLAMA_LIKE, PYTHIA_LIKE, NEO_LIKE):
        count = count_parameters(config)
        assert count.total == GPT(config).num_params()
        assert sum(n for _, n in count.parts()) == count.total
