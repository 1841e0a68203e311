"""A Hugging Face config.json, turned into our GPTConfig: one reader per model family.

Each reader names the switches its family needs; anything a family could ask for that our GPT does
not do (a RoPE scaling scheme, a sliding window, a head size that is not d_model / n_heads) is refused
with a sentence rather than run wrongly.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.model.config import GPTConfig
from core.files.json_values import is_number

# Activations that are GPT-2's tanh-approximated GELU ("gelu_tanh" in our config).
TANH_GELUS = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")


# -- GPT-2 -----------------------------------------------------------------------------------------------
def gpt2_config_from_hf(config_dict: Mapping, source: str = "config.json") -> GPTConfig:
    """Our config for a Hugging Face GPT2Config (as a dict, e.g. read from config.json)."""
    if not isinstance(config_dict, Mapping):
        raise ValueError(f"{source} should hold one JSON object of settings, not {type(config_dict).__name__}.")
    model_type = config_dict.get("model_type", "gpt2")
    if model_type != "gpt2":
        raise ValueError(f"{source} describes a {model_type!r} model; only GPT-2 ('gpt2') folders can be loaded.")
    sizes = {}
    for ours, theirs in (
        ("vocab_size", ("vocab_size",)),
        ("context_length", ("n_positions", "n_ctx")),
        ("d_model", ("n_embd",)),
        ("n_layers", ("n_layer",)),
        ("n_heads", ("n_head",)),
    ):
        found = [config_dict[name] for name in theirs if name in config_dict]
        if not found:
            raise ValueError(
                f"{source} has no {theirs[0]!r}; a GPT-2 config gives vocab_size, n_positions, n_embd, "
                "n_layer and n_head."
            )
        sizes[ours] = found[0]
    activation = config_dict.get("activation_function", "gelu_new")
    if activation not in TANH_GELUS:
        raise ValueError(
            f"{source} asks for activation {activation!r}, but this GPT's MLP uses GPT-2's tanh GELU ('gelu_new')."
        )
    if not config_dict.get("scale_attn_weights", True) or config_dict.get("scale_attn_by_inverse_layer_idx", False):
        raise ValueError(
            f"{source} changes how attention scores are scaled; this GPT always divides by √d_head as GPT-2 does."
        )
    try:
        return GPTConfig(
            **sizes,
            d_mlp=config_dict.get("n_inner") or None,
            dropout=0.0,  # GPT-2's *_pdrop values are for its training; here the weights are read
            pos_encoding="learned",
            tie_embeddings=_true_or_false(config_dict.get("tie_word_embeddings", True), "tie_word_embeddings"),
            bias=True,
            layer_norm_eps=_number(config_dict.get("layer_norm_epsilon", 1e-5), "layer_norm_epsilon"),
        )
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None


def _true_or_false(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name!r} must be true or false, not {value!r}.")
    return value


def _number(value, name: str) -> float:
    if not is_number(value):
        raise ValueError(f"{name!r} must be a number, not {value!r}.")
    return float(value)


# -- the other families ------------------------------------------------------------------------------------
class HFConfig:
    """Reads settings from one config.json, each a sentence naming the file when missing or wrong."""

    def __init__(self, values: Mapping, source: str) -> None:
        self.values, self.source = values, source

    def whole(self, *names: str) -> int:
        """The first of `names` present, as a whole number."""
        for name in names:
            if name in self.values:
                value = self.values[name]
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError(f"{self.source}: {name!r} must be a whole number, not {value!r}.")
                return value
        raise ValueError(f"{self.source} has no {names[0]!r}, which a {self.values.get('model_type')} model needs.")

    def number(self, name: str, default: float) -> float:
        value = self.values.get(name, default)
        if value is None:
            return default
        if not is_number(value):
            raise ValueError(f"{self.source}: {name!r} must be a number, not {value!r}.")
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self.values.get(name, default)
        if not isinstance(value, bool):
            raise ValueError(f"{self.source}: {name!r} must be true or false, not {value!r}.")
        return value

    def rope(self, default_fraction_key: str | None = None) -> tuple[float, float]:
        """(theta, fraction): from transformers 5's rope_parameters or older files' top-level keys."""
        parameters = self.values.get("rope_parameters") or {}
        scaling = self.values.get("rope_scaling") or {}
        if not isinstance(parameters, Mapping) or not isinstance(scaling, Mapping):
            raise ValueError(f"{self.source}: 'rope_parameters' and 'rope_scaling' must be JSON objects.")
        kind = parameters.get("rope_type") or scaling.get("rope_type") or scaling.get("type") or "default"
        if kind != "default":
            raise ValueError(
                f"{self.source} asks for RoPE scaling {kind!r}; this GPT turns queries and keys by the plain "
                "RoPE angles only, so the model would not be the same."
            )
        # Older files keep theta at the top level (GPT-NeoX calls it rotary_emb_base, and its share rotary_pct).
        merged = HFConfig({**self.values, **parameters}, self.source)
        theta = merged.number("rope_theta", merged.number("rotary_emb_base", 10000.0))
        fraction = merged.number("partial_rotary_factor", merged.number(default_fraction_key or "", 1.0))
        return theta, fraction

    def activation(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.values.get(name, allowed[0])
        if value not in allowed:
            raise ValueError(f"{self.source} asks for activation {value!r}; this family's GPT uses {allowed[0]!r}.")
        return value

    def head_dim_is_even_split(self, d_model: int, n_heads: int) -> None:
        head_dim = self.values.get("head_dim")
        if head_dim is not None and n_heads and head_dim * n_heads != d_model:
            raise ValueError(
                f"{self.source} gives head_dim {head_dim}, but this GPT splits d_model ({d_model}) evenly "
                f"over the {n_heads} heads ({d_model // n_heads} each)."
            )


def _gpt_neo(hf: HFConfig) -> dict:
    n_layers = hf.whole("num_layers")
    layer_kinds = hf.values.get("attention_layers") or _expand_attention_types(hf)
    if not isinstance(layer_kinds, list) or len(layer_kinds) != n_layers or set(layer_kinds) - {"global", "local"}:
        raise ValueError(
            f"{hf.source}: 'attention_layers' must list 'global' or 'local' for each of the {n_layers} layers."
        )
    window = hf.whole("window_size")
    activation = hf.activation("activation_function", TANH_GELUS)
    return dict(
        vocab_size=hf.whole("vocab_size"),
        context_length=hf.whole("max_position_embeddings"),
        d_model=hf.whole("hidden_size"),
        n_layers=n_layers,
        n_heads=hf.whole("num_heads"),
        d_mlp=hf.values.get("intermediate_size") or None,
        pos_encoding="learned",
        activation="gelu_tanh" if activation in TANH_GELUS else "gelu",
        layer_norm_eps=hf.number("layer_norm_epsilon", 1e-5),
        bias=True,
        qkv_bias=False,
        tie_embeddings=hf.flag("tie_word_embeddings", True),
        scale_scores=False,
        attention_windows=tuple(window if kind == "local" else None for kind in layer_kinds),
    )


def _expand_attention_types(hf: HFConfig) -> list:
    """GPT-Neo's compact form, [[["global", "local"], 12]], as one entry per layer."""
    layers = []
    for entry in hf.values.get("attention_types") or []:
        kinds, repeat = entry
        layers.extend(list(kinds) * repeat)
    return layers


def _gpt_neox(hf: HFConfig) -> dict:
    theta, fraction = hf.rope(default_fraction_key="rotary_pct")
    bias = hf.flag("attention_bias", True)
    return dict(
        vocab_size=hf.whole("vocab_size"),
        context_length=hf.whole("max_position_embeddings"),
        d_model=hf.whole("hidden_size"),
        n_layers=hf.whole("num_hidden_layers"),
        n_heads=hf.whole("num_attention_heads"),
        d_mlp=hf.whole("intermediate_size"),
        pos_encoding="rope",
        rope_theta=theta,
        rope_fraction=fraction,
        activation={"gelu": "gelu", **dict.fromkeys(TANH_GELUS, "gelu_tanh")}[
            hf.activation("hidden_act", ("gelu", *TANH_GELUS))
        ],
        layer_norm_eps=hf.number("layer_norm_eps", 1e-5),
        bias=True,
        qkv_bias=bias,
        attn_out_bias=bias,
        parallel_residual=hf.flag("use_parallel_residual", True),
        tie_embeddings=hf.flag("tie_word_embeddings", False),
    )


def _llama(hf: HFConfig, qkv_bias: bool, out_bias: bool) -> dict:
    d_model, n_heads = hf.whole("hidden_size"), hf.whole("num_attention_heads")
    hf.head_dim_is_even_split(d_model, n_heads)
    hf.activation("hidden_act", ("silu",))
    if hf.flag("mlp_bias", False):
        raise ValueError(f"{hf.source} gives the MLP biases; this GPT's SwiGLU MLP has none, as Llama's.")
    theta, fraction = hf.rope()
    return dict(
        vocab_size=hf.whole("vocab_size"),
        context_length=hf.whole("max_position_embeddings"),
        d_model=d_model,
        n_layers=hf.whole("num_hidden_layers"),
        n_heads=n_heads,
        n_kv_heads=hf.values.get("num_key_value_heads") or n_heads,
        d_mlp=hf.whole("intermediate_size"),
        pos_encoding="rope",
        rope_theta=theta,
        rope_fraction=fraction,
        norm="rmsnorm",
        mlp="swiglu",
        layer_norm_eps=hf.number("rms_norm_eps", 1e-6),
        bias=False,
        qkv_bias=qkv_bias,
        attn_out_bias=out_bias,
        tie_embeddings=hf.flag("tie_word_embeddings", False),
    )


def _qwen2(hf: HFConfig) -> dict:
    if hf.flag("use_sliding_window", False):
        raise ValueError(f"{hf.source} turns on Qwen2's sliding window, which this GPT does not do.")
    return _llama(hf, qkv_bias=True, out_bias=False)  # Qwen2: biases on q, k and v only


def _read_llama(hf: HFConfig) -> dict:
    bias = hf.flag("attention_bias", False)  # Llama's attention_bias covers q, k, v and the output
    return _llama(hf, qkv_bias=bias, out_bias=bias)


FAMILY_READERS = {"gpt_neo": _gpt_neo, "gpt_neox": _gpt_neox, "llama": _read_llama, "qwen2": _qwen2}
SUPPORTED_MODEL_TYPES = ("gpt2", *FAMILY_READERS)


def config_from_hf(values: Mapping, source: str = "config.json") -> GPTConfig:
    """Our GPTConfig for a Hugging Face config.json (as a dict). Nothing is allocated here."""
    if not isinstance(values, Mapping):
        raise ValueError(f"{source} should hold one JSON object of settings, not {type(values).__name__}.")
    model_type = values.get("model_type")
    if model_type == "gpt2":
        return gpt2_config_from_hf(values, source)
    if model_type not in FAMILY_READERS:
        raise ValueError(
            f"{source} describes a {model_type!r} model, which this GPT cannot run; it runs "
            f"{', '.join(SUPPORTED_MODEL_TYPES)} models (GPT-2, GPT-Neo, GPT-NeoX/Pythia, Llama/SmolLM2, Qwen2)."
        )
    try:
        return GPTConfig(dropout=0.0, **FAMILY_READERS[model_type](HFConfig(values, source)))
    except (ValueError, TypeError, KeyError) as error:
        message = str(error)
        raise ValueError(message if message.startswith(source) else f"{source}: {message}") from None
