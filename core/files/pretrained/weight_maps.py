"""Where each family keeps each weight, and how it becomes ours: one map per family.

A map is a list of recipes: (our parameter name, the names of their tensors it is made from, how).
`how` gives the parameter's value, or a tuple of pieces that the loader copies into its rows one after
another (so queries, keys and values land in c_attn without a stacked copy of their own).
Our layout is GPT-2's: one c_attn makes queries, keys and values (their q/k/v_proj side by side), c_fc
widens, c_proj narrows, ln_1/ln_2/ln_f are the norms.

RoPE: Llama, GPT-NeoX and Qwen2 turn the two *halves* of the rotary dims against each other (dim i
with dim i + rot/2), while our apply_rope turns neighbouring *pairs* (2i, 2i+1). Both turn the same
dims by the same angles; only the order of the dims differs. So the rows of their query and key
weights (and biases) are reordered here, once, at load time: our row 2i is their row i, our row
2i+1 their row i + rot/2. A query·key product is a sum over dims, which no reordering changes, so
the scores, patterns and outputs are theirs, and the model keeps one RoPE code path.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from core.model.config import GPTConfig

Recipe = tuple[str, tuple[str, ...], Callable[..., torch.Tensor | tuple[torch.Tensor, ...]]]
# Stored (in, out) by GPT-2's Conv1D: transposed into nn.Linear's (out, in).
CONV1D_WEIGHTS = (".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight")
# GPT-2's saved causal-mask buffers; our mask is built, not loaded. The leading dot keeps
# "attn.c_attn.bias", a real weight, from matching.
MASK_BUFFERS = (".attn.bias", ".attn.masked_bias")


def _same(tensor: torch.Tensor) -> torch.Tensor:
    return tensor


def _side_by_side(*tensors: torch.Tensor) -> torch.Tensor:
    return torch.cat(tensors, dim=0)


def halves_to_pairs(tensor: torch.Tensor, n_heads: int, config: GPTConfig) -> torch.Tensor:
    """Reorder a query or key weight (n_heads·hs, C) or bias (n_heads·hs,) from rotate-halves to rotate-pairs."""
    hs, rot = config.d_head, config.rotary_dims
    per_head = tensor.reshape(n_heads, hs, -1)  # (n, hs, C or 1)
    turned, unturned = per_head[:, :rot], per_head[:, rot:]  # (n, rot, ·), (n, hs-rot, ·)
    halves = turned.reshape(n_heads, 2, rot // 2, -1)  # (n, 2, rot/2, ·): first half, second half
    pairs = halves.transpose(1, 2).reshape(n_heads, rot, -1)  # (n, rot, ·): i, i+rot/2, i+1, ...
    if unturned.size(1):
        pairs = torch.cat((pairs, unturned), dim=1)  # (n, hs, ·)
    return pairs.reshape(tensor.shape)  # back to (n·hs, C) or (n·hs,)


def _norm(recipes: list, ours: str, theirs: str, config: GPTConfig) -> None:
    recipes.append((f"{ours}.weight", (f"{theirs}.weight",), _same))
    if config.norm == "layernorm" and config.bias:
        recipes.append((f"{ours}.bias", (f"{theirs}.bias",), _same))


def _linear(recipes: list, ours: str, theirs: str, bias: bool) -> None:
    recipes.append((f"{ours}.weight", (f"{theirs}.weight",), _same))
    if bias:
        recipes.append((f"{ours}.bias", (f"{theirs}.bias",), _same))


def _head(recipes: list, config: GPTConfig, theirs: str) -> None:
    if not config.tie_embeddings:
        recipes.append(("lm_head.weight", (theirs,), _same))


# -- GPT-2: our names are its names -------------------------------------------------------------------
def gpt2_recipes(config: GPTConfig, parameter_names: list[str]) -> list[Recipe]:
    def conv1d(tensor):  # GPT-2's Conv1D stores (in, out); nn.Linear keeps (out, in)
        return tensor.T

    return [(name, (name,), conv1d if name.endswith(CONV1D_WEIGHTS) else _same) for name in parameter_names]


# -- GPT-Neo: separate q/k/v without bias, an out_proj with one ------------------------------------------
def gpt_neo_recipes(config: GPTConfig, parameter_names: list[str]) -> list[Recipe]:
    recipes: list[Recipe] = [
        ("transformer.wte.weight", ("transformer.wte.weight",), _same),
        ("transformer.wpe.weight", ("transformer.wpe.weight",), _same),
    ]
    for layer in range(config.n_layers):
        ours, theirs = f"transformer.h.{layer}", f"transformer.h.{layer}"
        attention = f"{theirs}.attn.attention"
        _norm(recipes, f"{ours}.ln_1", f"{theirs}.ln_1", config)
        recipes.append(
            (f"{ours}.attn.c_attn.weight", tuple(f"{attention}.{p}_proj.weight" for p in "qkv"), _side_by_side)
        )
        _linear(recipes, f"{ours}.attn.c_proj", f"{attention}.out_proj", bias=True)
        _norm(recipes, f"{ours}.ln_2", f"{theirs}.ln_2", config)
        _linear(recipes, f"{ours}.mlp.c_fc", f"{theirs}.mlp.c_fc", bias=True)
        _linear(recipes, f"{ours}.mlp.c_proj", f"{theirs}.mlp.c_proj", bias=True)
    _norm(recipes, "transformer.ln_f", "transformer.ln_f", config)
    _head(recipes, config, "lm_head.weight")
    return recipes


# -- GPT-NeoX (Pythia): one query_key_value, interleaved per head -----------------------------------------
def gpt_neox_recipes(config: GPTConfig, parameter_names: list[str]) -> list[Recipe]:
    def split_heads(tensor):
        """(nh·3·hs, ...) laid out head by head, each [q; k; v] -> our [all q; all k; all v], pairs order."""
        per_head = tensor.reshape(config.n_heads, 3, config.d_head, -1)  # (nh, 3, hs, C or 1)
        query, key, value = (per_head[:, i].reshape(config.d_model, -1) for i in range(3))  # each (C, C or 1)
        query = halves_to_pairs(query, config.n_heads, config)
        key = halves_to_pairs(key, config.n_heads, config)
        return torch.cat((query, key, value)).reshape(3 * config.d_model, *tensor.shape[1:])  # (3C, C) or (3C,)

    recipes: list[Recipe] = [("transformer.wte.weight", ("gpt_neox.embed_in.weight",), _same)]
    for layer in range(config.n_layers):
        ours, theirs = f"transformer.h.{layer}", f"gpt_neox.layers.{layer}"
        _norm(recipes, f"{ours}.ln_1", f"{theirs}.input_layernorm", config)
        recipes.append((f"{ours}.attn.c_attn.weight", (f"{theirs}.attention.query_key_value.weight",), split_heads))
        if config.qkv_bias:
            recipes.append((f"{ours}.attn.c_attn.bias", (f"{theirs}.attention.query_key_value.bias",), split_heads))
        _linear(recipes, f"{ours}.attn.c_proj", f"{theirs}.attention.dense", config.attn_out_bias)
        _norm(recipes, f"{ours}.ln_2", f"{theirs}.post_attention_layernorm", config)
        _linear(recipes, f"{ours}.mlp.c_fc", f"{theirs}.mlp.dense_h_to_4h", bias=True)
        _linear(recipes, f"{ours}.mlp.c_proj", f"{theirs}.mlp.dense_4h_to_h", bias=True)
    _norm(recipes, "transformer.ln_f", "gpt_neox.final_layer_norm", config)
    _head(recipes, config, "embed_out.weight")  # "lm_head.weight" in files saved by transformers 5
    return recipes


# -- Llama and Qwen2: separate q/k/v (fewer k/v heads), SwiGLU, RMSNorm ----------------------------------
def llama_recipes(config: GPTConfig, parameter_names: list[str]) -> list[Recipe]:
    def queries_keys_values(query, key, value):
        query = halves_to_pairs(query, config.n_heads, config)
        key = halves_to_pairs(key, config.n_kv_heads, config)
        return query, key, value  # stacked into c_attn's rows by the loader: (C + 2·kv, C) or (C + 2·kv,)

    recipes: list[Recipe] = [("transformer.wte.weight", ("model.embed_tokens.weight",), _same)]
    for layer in range(config.n_layers):
        ours, theirs = f"transformer.h.{layer}", f"model.layers.{layer}"
        _norm(recipes, f"{ours}.ln_1", f"{theirs}.input_layernorm", config)
        for part in ("weight", "bias") if config.qkv_bias else ("weight",):
            recipes.append(
                (
                    f"{ours}.attn.c_attn.{part}",
                    tuple(f"{theirs}.self_attn.{p}_proj.{part}" for p in "qkv"),
                    queries_keys_values,
                )
            )
        _linear(recipes, f"{ours}.attn.c_proj", f"{theirs}.self_attn.o_proj", config.attn_out_bias)
        _norm(recipes, f"{ours}.ln_2", f"{theirs}.post_attention_layernorm", config)
        _linear(recipes, f"{ours}.mlp.c_gate", f"{theirs}.mlp.gate_proj", config.bias)
        _linear(recipes, f"{ours}.mlp.c_fc", f"{theirs}.mlp.up_proj", config.bias)
        _linear(recipes, f"{ours}.mlp.c_proj", f"{theirs}.mlp.down_proj", config.bias)
    _norm(recipes, "transformer.ln_f", "model.norm", config)
    _head(recipes, config, "lm_head.weight")
    return recipes


WEIGHT_MAPS = {
    "gpt2": gpt2_recipes,
    "gpt_neo": gpt_neo_recipes,
    "gpt_neox": gpt_neox_recipes,
    "llama": llama_recipes,
    "qwen2": llama_recipes,
}
# Their names for one tensor may differ between files: a leading module name may be missing (GPT-2's
# own files say "h.0.attn..." where transformers writes "transformer.h.0.attn..."), and GPT-NeoX's head
# is "embed_out" in Pythia's files but "lm_head" in newer ones.
OTHER_SPELLINGS = {"embed_out.weight": ("lm_head.weight",)}
# Tensors saved beside the weights that are not weights: causal-mask buffers, cached RoPE frequencies.
NOT_WEIGHTS = (*MASK_BUFFERS, ".attention.bias", ".attention.masked_bias", "rotary_emb.inv_freq")
