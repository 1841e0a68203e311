"""A "this model" card: the choices its architecture makes and where its parameters sit, from its config.

GPT-2, Pythia, SmolLM2 and Qwen2.5 are the same idea built with a few different parts; the card names
those parts in words a lesson uses, so a class can see what changed between them.

    card = model_card(model.config, source="SmolLM2-135M")
    card.summary()    # 'RMSNorm · SwiGLU · RoPE · grouped-query 9/3 · tied head'
    card.rows         # [('Norm', 'RMSNorm: ...'), ('MLP', ...), ...]
"""

from __future__ import annotations

from dataclasses import dataclass

from core.model.config import GPTConfig
from core.model.param_count import count_parameters, human_count


@dataclass(frozen=True)
class ModelCard:
    source: str  # where the model came from, in words ('' if unknown)
    rows: tuple[tuple[str, str], ...]  # (choice, what this model does), in the order a block is read
    parameters: tuple[tuple[str, int], ...]  # (part, parameter count), then ('total', n)
    short: tuple[str, ...]  # a few words per choice, for one line

    def summary(self) -> str:
        """One line: the choices in a word or two each."""
        return " · ".join(self.short)

    def text(self) -> str:
        """The whole card as plain text (the About-this-model dialog shows it)."""
        lines = [f"Model: {self.source}"] if self.source else []
        lines += [f"{choice}: {what}" for choice, what in self.rows]
        lines.append("Parameters: " + ", ".join(f"{part} {human_count(n)}" for part, n in self.parameters))
        return "\n".join(lines)


def model_card(config: GPTConfig, source: str = "") -> ModelCard:
    """The card for a model built from `config`; nothing is built or loaded."""
    choices = (
        _size(config),
        _norm(config),
        _mlp(config),
        _positions(config),
        _attention(config),
        _block(config),
        _biases(config),
        _head(config),
    )
    count = count_parameters(config)
    parameters = (*count.parts(), ("total", count.total))
    if count.saved_by_shared_kv:
        parameters += (("saved by shared key/value heads", count.saved_by_shared_kv),)
    return ModelCard(
        source,
        tuple((choice, what) for choice, what, _ in choices),
        parameters,
        tuple(short for _, _, short in choices if short),
    )


def _size(config: GPTConfig) -> tuple[str, str, str]:
    return (
        "Size",
        f"{config.n_layers} layers, d_model {config.d_model}, vocabulary {config.vocab_size:,}, "
        f"reads up to {config.context_length:,} tokens",
        "",
    )


def _norm(config: GPTConfig) -> tuple[str, str, str]:
    if config.norm == "rmsnorm":
        return "Norm", "RMSNorm: divides each vector by its root mean square (no centring, no bias)", "RMSNorm"
    return "Norm", "LayerNorm: centres each vector, then scales it to unit spread", "LayerNorm"


def _mlp(config: GPTConfig) -> tuple[str, str, str]:
    if config.mlp == "swiglu":
        return (
            "MLP",
            f"SwiGLU: SiLU(gate) × up, {config.d_model} → {config.d_mlp} (twice) → {config.d_model}",
            "SwiGLU",
        )
    gelu = "GELU (tanh approximation)" if config.activation == "gelu_tanh" else "GELU"
    return "MLP", f"{gelu}: {config.d_model} → {config.d_mlp} → {config.d_model}", "GELU"


def _positions(config: GPTConfig) -> tuple[str, str, str]:
    scheme = config.pos_encoding
    if scheme == "rope":
        share = (
            "every dim"
            if config.rotary_dims == config.d_head
            else f"{config.rotary_dims} of {config.d_head} dims ({config.rope_fraction:.0%})"
        )
        return (
            "Positions",
            f"rotary (RoPE), base θ = {config.rope_theta:,.0f}, turning {share} of each head",
            "RoPE" if config.rotary_dims == config.d_head else f"RoPE on {config.rope_fraction:.0%}",
        )
    words = {
        "learned": "learned: one trained vector per position, added to the token",
        "sinusoidal": "sinusoidal: fixed sines and cosines, added to the token",
        "none": "none: only the causal mask hints at order",
    }
    return (
        "Positions",
        words[scheme],
        {"learned": "learned positions", "sinusoidal": "sinusoidal positions", "none": "no positions"}[scheme],
    )


def _attention(config: GPTConfig) -> tuple[str, str, str]:
    heads = f"{config.n_heads} heads of {config.d_head} dims"
    if config.n_kv_heads == config.n_heads:
        kind, short = f"multi-head: {heads}, each with its own keys and values", ""  # the usual: not in the line
    else:
        kind = (
            f"grouped-query: {heads} share {config.n_kv_heads} key/value head(s), "
            f"{config.heads_per_kv_head} query heads per key/value head"
        )
        short = f"grouped-query {config.n_heads}/{config.n_kv_heads}"
    local = [layer for layer in range(config.n_layers) if config.window_of(layer) is not None]
    if local:
        windows = sorted({config.window_of(layer) for layer in local})
        kind += f"; local layers {', '.join(map(str, local))} see only the last {' or '.join(map(str, windows))} tokens"
        short = ", ".join(filter(None, (short, "local windows")))
    if not config.scale_scores:
        kind += "; scores are not divided by √d_head"
    return "Attention", kind, short


def _block(config: GPTConfig) -> tuple[str, str, str]:
    if config.parallel_residual:
        return "Block", "parallel: x + attention(norm(x)) + MLP(norm(x)), both read the same input", "parallel block"
    return "Block", "sequential: x + attention(norm(x)), then + MLP(norm(x))", ""


def _biases(config: GPTConfig) -> tuple[str, str, str]:
    where = {
        "query/key/value": config.qkv_bias,
        "attention output": config.attn_out_bias,
        "MLP": config.bias,
        "norms": config.bias and config.norm == "layernorm",
    }
    present = [part for part, has in where.items() if has]
    if len(present) == len(where):
        return "Biases", "everywhere", ""
    return "Biases", ("on " + ", ".join(present)) if present else "none", ""


def _head(config: GPTConfig) -> tuple[str, str, str]:
    if config.tie_embeddings:
        return "Output head", "tied: reads out with the token-embedding matrix", "tied head"
    return "Output head", "separate: its own vocabulary × d_model matrix", "separate head"
