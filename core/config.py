"""The model's shape, written down once: a frozen config and a few named presets."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

POSITIONAL_ENCODINGS = ("learned", "sinusoidal", "rope", "none")
ACTIVATIONS = ("gelu_tanh", "gelu")  # GPT-2's tanh approximation of GELU, or the exact (erf) GELU


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 256          # how many different tokens the model knows
    context_length: int = 64       # the longest prompt it reads at once (in tokens)
    d_model: int = 128             # width of every token's vector in the residual stream
    n_layers: int = 4              # how many transformer blocks are stacked
    n_heads: int = 4               # attention heads per block; each gets d_model / n_heads dims
    d_mlp: int | None = None       # hidden width of each MLP; None means 4 * d_model
    dropout: float = 0.0           # dropout probability while training (0 = off)
    pos_encoding: str = "learned"  # one of "learned", "sinusoidal", "rope", "none"
    tie_embeddings: bool = True    # the output head reuses the token-embedding matrix
    bias: bool = True              # Linear layers and LayerNorms carry a bias
    layer_norm_eps: float = field(default=1e-5)  # small number that keeps LayerNorm from dividing by 0
    activation: str = "gelu_tanh"  # the MLP's GELU: "gelu_tanh" (GPT-2's) or "gelu" (exact; ~2x cheaper on CPUs)

    def __post_init__(self) -> None:
        if self.d_mlp is None:
            object.__setattr__(self, "d_mlp", 4 * self.d_model)
        self._validate()

    def _validate(self) -> None:
        for name in ("vocab_size", "context_length", "d_model", "n_layers", "n_heads", "d_mlp"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number, but it is {value!r}.")
        if self.d_model % self.n_heads != 0:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads}) so every head "
                f"gets the same number of dimensions; try d_model = {self.n_heads * max(1, self.d_model // self.n_heads)}."
            )
        if self.pos_encoding not in POSITIONAL_ENCODINGS:
            raise ValueError(
                f"Unknown positional encoding {self.pos_encoding!r}; choose one of {', '.join(POSITIONAL_ENCODINGS)}."
            )
        if self.pos_encoding == "rope" and self.d_head % 2:
            raise ValueError(
                f"RoPE rotates pairs of dimensions, so d_model / n_heads must be even (it is {self.d_head})."
            )
        if self.pos_encoding == "sinusoidal" and self.d_model % 2:
            raise ValueError(f"Sinusoidal encoding pairs sine and cosine, so d_model must be even (it is {self.d_model}).")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
        eps = self.layer_norm_eps
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < float("inf"):
            raise ValueError(f"layer_norm_eps must be a small positive number such as 1e-5, but it is {eps!r}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be at least 0 and below 1, but it is {self.dropout}.")

    @property
    def d_head(self) -> int:
        """Dimensions each attention head works in."""
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "GPTConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown model settings: {', '.join(sorted(unknown))}.")
        return cls(**values)

    def with_changes(self, **changes) -> "GPTConfig":
        """A new, checked config. An MLP width that followed d_model (4x) keeps following it."""
        if "d_model" in changes and "d_mlp" not in changes and self.d_mlp == 4 * self.d_model:
            changes["d_mlp"] = None
        return replace(self, **changes)


# Named presets, smallest first. Sizes follow minGPT's naming habit.
PRESETS: dict[str, dict] = {
    "nano": dict(n_layers=2, n_heads=2, d_model=32),
    "micro": dict(n_layers=4, n_heads=4, d_model=128),
    "small": dict(n_layers=6, n_heads=6, d_model=384),
}


def preset(name: str, **overrides) -> GPTConfig:
    """A config by preset name, with any field overridden (e.g. vocab_size)."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return GPTConfig(**{**PRESETS[name], **overrides})
