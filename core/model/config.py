"""The model's shape, written down once: a frozen config and a few named presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from core.files.json_values import is_number

POSITIONAL_ENCODINGS = ("learned", "sinusoidal", "rope", "none")
ACTIVATIONS = ("gelu_tanh", "gelu")  # GPT-2's tanh approximation of GELU, or the exact (erf) GELU
NORMS = ("layernorm", "rmsnorm")  # LayerNorm (GPT-2, GPT-Neo, Pythia) or RMSNorm (Llama, Qwen2)
MLP_KINDS = ("gelu", "swiglu")  # widen-GELU-narrow (GPT-2) or gate·up-SiLU-down (Llama, Qwen2)


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 256  # how many different tokens the model knows
    context_length: int = 64  # the longest prompt it reads at once (in tokens)
    d_model: int = 128  # width of every token's vector in the residual stream
    n_layers: int = 4  # how many transformer blocks are stacked
    n_heads: int = 4  # attention heads per block; each gets d_model / n_heads dims
    d_mlp: int | None = None  # hidden width of each MLP; None means 4 * d_model
    dropout: float = 0.0  # dropout probability while training (0 = off)
    pos_encoding: str = "learned"  # one of "learned", "sinusoidal", "rope", "none"
    tie_embeddings: bool = True  # the output head reuses the token-embedding matrix
    bias: bool = True  # Linear layers and LayerNorms carry a bias
    layer_norm_eps: float = field(default=1e-5)  # small number that keeps LayerNorm from dividing by 0
    activation: str = "gelu_tanh"  # the MLP's GELU: "gelu_tanh" (GPT-2's) or "gelu" (exact; ~2x cheaper on CPUs)
    # -- the switches real model families need (the defaults are GPT-2's, and every older checkpoint's) --
    norm: str = (
        "layernorm"  # "layernorm" (subtract the mean, divide by the spread) or "rmsnorm" (divide by the RMS only)
    )
    mlp: str = "gelu"  # "gelu": widen, GELU, narrow; "swiglu": SiLU(gate)·up, then down (Llama)
    rope_theta: float = 10000.0  # RoPE's base: the slowest pair turns by position·theta^(-1+2/rotated dims)
    rope_fraction: float = 1.0  # share of each head's dims that RoPE turns (Pythia: 0.25); the rest pass as they are
    n_kv_heads: int | None = None  # key/value heads, shared by groups of query heads (grouped-query); None = n_heads
    parallel_residual: bool = False  # attention and MLP both read the block's input, x + attn + MLP (GPT-NeoX)
    qkv_bias: bool | None = None  # query/key/value projections carry a bias; None follows `bias` (Qwen2: only these)
    attn_out_bias: bool | None = None  # attention's output projection carries a bias; None follows `bias`
    attention_windows: tuple | None = (
        None  # per layer, how many recent tokens a query sees (None = all); GPT-Neo's local layers
    )
    scale_scores: bool = True  # divide scores by √d_head; GPT-Neo's attention leaves them unscaled

    def __post_init__(self) -> None:
        if self.d_mlp is None:
            object.__setattr__(self, "d_mlp", 4 * self.d_model)
        if self.n_kv_heads is None:
            object.__setattr__(self, "n_kv_heads", self.n_heads)
        for name in ("qkv_bias", "attn_out_bias"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, self.bias)
        if isinstance(self.attention_windows, list):  # read back from JSON as a list
            object.__setattr__(self, "attention_windows", tuple(self.attention_windows))
        self._validate()

    def _validate(self) -> None:
        for name in ("vocab_size", "context_length", "d_model", "n_layers", "n_heads", "d_mlp"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number, but it is {value!r}.")
        if self.d_model % self.n_heads != 0:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads}) so every head "
                "gets the same number of dimensions; "
                f"try d_model = {self.n_heads * max(1, self.d_model // self.n_heads)}."
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
            raise ValueError(
                f"Sinusoidal encoding pairs sine and cosine, so d_model must be even (it is {self.d_model})."
            )
        _check_choice("activation", self.activation, ACTIVATIONS)
        eps = self.layer_norm_eps
        if not is_number(eps) or not 0 < eps < float("inf"):
            raise ValueError(f"layer_norm_eps must be a small positive number such as 1e-5, but it is {eps!r}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be at least 0 and below 1, but it is {self.dropout}.")
        self._validate_family_switches()

    def _validate_family_switches(self) -> None:
        _check_choice("norm", self.norm, NORMS)
        _check_choice("MLP kind", self.mlp, MLP_KINDS)
        theta = self.rope_theta
        if not is_number(theta) or not 1 < theta < float("inf"):
            raise ValueError(f"rope_theta must be a number above 1 such as 10000, but it is {theta!r}.")
        fraction = self.rope_fraction
        if not is_number(fraction) or not 0 < fraction <= 1:
            raise ValueError(
                f"rope_fraction must lie above 0 and at most 1 (Pythia uses 0.25), but it is {fraction!r}."
            )
        if self.pos_encoding == "rope" and (self.rotary_dims == 0 or self.rotary_dims % 2):
            raise ValueError(
                f"RoPE turns pairs of dimensions, so rope_fraction × d_head must be a positive even number "
                f"(it is {self.rope_fraction} × {self.d_head})."
            )
        kv = self.n_kv_heads
        if not isinstance(kv, int) or isinstance(kv, bool) or kv <= 0 or self.n_heads % kv:
            raise ValueError(
                f"n_kv_heads must be a positive whole number that divides n_heads ({self.n_heads}), so that every "
                f"key/value head serves the same number of query heads, but it is {kv!r}."
            )
        for name in ("parallel_residual", "qkv_bias", "attn_out_bias", "scale_scores", "tie_embeddings", "bias"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, but it is {getattr(self, name)!r}.")
        self._validate_windows()

    def _validate_windows(self) -> None:
        windows = self.attention_windows
        if windows is None:
            return
        if not isinstance(windows, tuple) or len(windows) != self.n_layers:
            raise ValueError(
                f"attention_windows must list one window per layer ({self.n_layers} of them, None for a layer "
                f"that sees every earlier token), but it is {windows!r}."
            )
        for window in windows:
            if window is not None and (not isinstance(window, int) or isinstance(window, bool) or window <= 0):
                raise ValueError(
                    f"Each attention window is a positive number of tokens, or None for no window, not {window!r}."
                )

    @property
    def d_head(self) -> int:
        """Dimensions each attention head works in."""
        return self.d_model // self.n_heads

    @property
    def rotary_dims(self) -> int:
        """How many of each head's dims RoPE turns (the first ones); all of them unless rope_fraction < 1."""
        return int(self.d_head * self.rope_fraction)

    @property
    def heads_per_kv_head(self) -> int:
        """How many query heads share one key/value head (1 for ordinary multi-head attention)."""
        return self.n_heads // self.n_kv_heads

    def window_of(self, layer: int) -> int | None:
        """How many recent tokens (itself included) a query in this layer may see; None = every earlier one."""
        return None if self.attention_windows is None else self.attention_windows[layer]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> GPTConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown model settings: {', '.join(sorted(unknown))}.")
        return cls(**values)

    def with_changes(self, **changes) -> GPTConfig:
        """A new, checked config. A setting that followed another (the MLP width 4x d_model, key/value heads
        the query heads, the attention biases `bias`) keeps following it."""
        followers = (
            ("d_mlp", "d_model", 4 * self.d_model),
            ("n_kv_heads", "n_heads", self.n_heads),
            ("qkv_bias", "bias", self.bias),
            ("attn_out_bias", "bias", self.bias),
        )
        for follower, leader, followed_value in followers:
            if leader in changes and follower not in changes and getattr(self, follower) == followed_value:
                changes[follower] = None
        return replace(self, **changes)


def _check_choice(what: str, value, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"Unknown {what} {value!r}; choose one of {', '.join(choices)}.")


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
