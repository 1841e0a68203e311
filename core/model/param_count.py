"""How many parameters a GPT has, part by part, worked out from its config alone.

"Large" in "large language model" means parameters. Counting them from the config (no weights
needed) lets us put the model on screen next to GPT-2 and GPT-3, which we could never load here.

Per block, with C = d_model, M = d_mlp and K = n_kv_heads·d_head (K = C unless key/value heads are
shared; biases only where the config has them):
    attention  c_attn C·(C+2K) + (C+2K),  c_proj C·C + C
    MLP        c_fc   C·M + M,  c_proj M·C + C  (SwiGLU adds c_gate C·M + M)
    norms      ln_1 and ln_2, each C gains (+ C biases for a LayerNorm with bias; RMSNorm has none)
"""

from __future__ import annotations

from dataclasses import dataclass

from core.model.config import GPTConfig


@dataclass(frozen=True)
class ParameterCount:
    token_embedding: int  # wte: one d_model vector per vocabulary entry
    position_embedding: int  # wpe: one vector per position (only for learned positions)
    attention: int  # c_attn (query, key, value) and c_proj of every block
    mlp: int  # c_fc and c_proj of every block
    layer_norm: int  # the norms (LayerNorm or RMSNorm) ln_1 and ln_2 of every block, and the final ln_f
    head: int  # lm_head; 0 when it reuses (ties to) the token embedding
    saved_by_shared_kv: int = 0  # attention weights grouped-query attention does without (0 for multi-head)

    @property
    def embeddings(self) -> int:
        return self.token_embedding + self.position_embedding

    @property
    def total(self) -> int:
        return self.embeddings + self.attention + self.mlp + self.layer_norm + self.head

    def parts(self) -> list[tuple[str, int]]:
        """(label, count) in the order the forward pass meets them."""
        return [
            ("embeddings", self.embeddings),
            ("attention", self.attention),
            ("MLP", self.mlp),
            ("norms", self.layer_norm),
            ("head", self.head),
        ]


def _linear(n_in: int, n_out: int, bias: bool) -> int:
    return n_in * n_out + (n_out if bias else 0)


def _norm(config: GPTConfig) -> int:
    has_bias = config.norm == "layernorm" and config.bias
    return config.d_model * (2 if has_bias else 1)


def _attention_per_block(config: GPTConfig, n_kv_heads: int) -> int:
    C, K = config.d_model, n_kv_heads * config.d_head
    return _linear(C, C + 2 * K, config.qkv_bias) + _linear(C, C, config.attn_out_bias)


def count_parameters(config: GPTConfig) -> ParameterCount:
    """The parameter count of GPT(config), by part, without building the model."""
    C, M, V, L = config.d_model, config.d_mlp, config.vocab_size, config.n_layers
    attention_per_block = _attention_per_block(config, config.n_kv_heads)
    widening_layers = 2 if config.mlp == "swiglu" else 1  # SwiGLU's gate is a second widening layer
    mlp_per_block = widening_layers * _linear(C, M, config.bias) + _linear(M, C, config.bias)
    return ParameterCount(
        token_embedding=V * C,
        position_embedding=config.context_length * C if config.pos_encoding == "learned" else 0,
        attention=L * attention_per_block,
        mlp=L * mlp_per_block,
        layer_norm=(2 * L + 1) * _norm(config),
        head=0 if config.tie_embeddings else V * C,
        saved_by_shared_kv=L * (_attention_per_block(config, config.n_heads) - attention_per_block),
    )


# Famous models, from their published configurations (GPT-2: OpenAI's released config.json files;
# GPT-3: Brown et al. 2020, table 2.1). All use learned positions and a head tied to the embedding.
FAMOUS_CONFIGS: dict[str, GPTConfig] = {
    "GPT-2 small": GPTConfig(vocab_size=50257, context_length=1024, d_model=768, n_layers=12, n_heads=12),
    "GPT-2 XL": GPTConfig(vocab_size=50257, context_length=1024, d_model=1600, n_layers=48, n_heads=25),
    "GPT-3": GPTConfig(vocab_size=50257, context_length=2048, d_model=12288, n_layers=96, n_heads=96),
}


def famous_counts() -> dict[str, ParameterCount]:
    return {name: count_parameters(config) for name, config in FAMOUS_CONFIGS.items()}


def human_count(n: int) -> str:
    """124439808 -> '124.4M'; the way people say model sizes."""
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= limit:
            return f"{n / limit:.1f}{suffix}"
    return str(n)
