"""Neurons: the MLP's hidden units, what wakes them, and what they push the output towards.

An MLP widens each token's vector to d_mlp hidden numbers (the "neurons"), passes them through GELU
(or SwiGLU's gate), and narrows back: neuron n adds activation × W_out[:, n] to the residual stream.
Read through the output head, that column says which next tokens the neuron makes likelier (up) and
less likely (down) whenever it fires: its direct effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.model.trace import Trace


@dataclass(frozen=True)
class NeuronTable:
    """The most active neurons of one layer over the prompt."""

    layer: int
    neurons: np.ndarray  # (k,) int64: neuron indices, strongest first
    activations: np.ndarray  # (T, k) float32: each of them at every prompt token (after GELU / the gate)
    peaks: np.ndarray  # (k,) float32: each one's highest activation over the prompt


@dataclass(frozen=True)
class NeuronEffect:
    """What one neuron writes, read through the final norm's gain and the output head (per unit of activation)."""

    layer: int
    neuron: int
    up_ids: np.ndarray  # (k,) int64: tokens it pushes up most, strongest first
    up_values: np.ndarray  # (k,) float32: logit added per unit of activation (before the final norm's divisor)
    down_ids: np.ndarray  # (k,) int64: tokens it pushes down most
    down_values: np.ndarray  # (k,) float32: (negative) logit added per unit of activation


def _check_layer(trace: Trace, layer: int) -> None:
    if f"blocks.{layer}.mlp.post" not in trace:
        raise ValueError(f"This trace has no layer {layer} (or was recorded without its MLP).")


def mlp_activations(trace: Trace, layer: int, batch: int = 0) -> np.ndarray:
    """(T, d_mlp): every neuron of the layer at every prompt token (blocks.{layer}.mlp.post)."""
    _check_layer(trace, layer)
    return trace.numpy(f"blocks.{layer}.mlp.post", batch)


def top_neurons(trace: Trace, layer: int, k: int = 20, batch: int = 0) -> NeuronTable:
    """The k neurons of `layer` with the highest activation anywhere in the prompt."""
    activations = mlp_activations(trace, layer, batch)  # (T, d_mlp)
    peaks = activations.max(axis=0)  # (d_mlp,)
    k = max(1, min(k, peaks.size))
    best = np.argsort(-peaks, kind="stable")[:k]  # (k,)
    return NeuronTable(layer, best.astype(np.int64), activations[:, best].copy(), peaks[best].copy())


def neuron_activations(trace: Trace, layer: int, neuron: int, batch: int = 0) -> np.ndarray:
    """(T,): one neuron's activation at every prompt token (to shade the tokens by)."""
    activations = mlp_activations(trace, layer, batch)  # (T, d_mlp)
    if not 0 <= neuron < activations.shape[1]:
        raise ValueError(f"Layer {layer} has neurons 0 to {activations.shape[1] - 1}, not {neuron}.")
    return activations[:, neuron].copy()


def neuron_logit_effect(model, layer: int, neuron: int) -> torch.Tensor:
    """(vocab,): the logits one unit of the neuron's activation adds, through γ of the final norm.

    Its output column W_out[:, n] (C,), centred for a LayerNorm (which subtracts the mean), times γ,
    through the output head. The final norm's divisor depends on the prompt and is left out: it
    scales every token's number alike, so the order of the tokens is the prompt's too.
    """
    config = model.config
    if not 0 <= layer < config.n_layers:
        raise ValueError(f"This model has layers 0 to {config.n_layers - 1}, not {layer}.")
    if not 0 <= neuron < config.d_mlp:
        raise ValueError(f"Layer {layer} has neurons 0 to {config.d_mlp - 1}, not {neuron}.")
    with torch.no_grad():
        column = model.transformer.h[layer].mlp.c_proj.weight[:, neuron].float()  # (C,)
        if config.norm == "layernorm":
            column = column - column.mean()
        gain = model.transformer.ln_f.weight
        if gain is not None:
            column = column * gain.float()
        return (model.lm_head.weight.float() @ column).cpu()  # (vocab,)


def neuron_effect(model, layer: int, neuron: int, k: int = 10) -> NeuronEffect:
    """The k tokens the neuron pushes up most and the k it pushes down most."""
    effect = neuron_logit_effect(model, layer, neuron)  # (vocab,)
    k = max(1, min(k, effect.numel()))
    up, down = torch.topk(effect, k), torch.topk(-effect, k)
    return NeuronEffect(
        layer, neuron, up.indices.numpy(), up.values.numpy(), down.indices.numpy(), (-down.values).numpy()
    )
