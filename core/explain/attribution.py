"""Direct attribution: how much each head and each MLP adds, by itself, to the logit of one token.

The residual stream the output head reads at the last position is a plain sum of what was written
into it:  embeddings + every head's output + every attention bias + every MLP's output.
The final norm is not linear (it divides by the stream's spread), but once that divisor is frozen at
its value for this prompt, it is: a LayerNorm subtracts each part's mean and scales it by γ/σ
(an RMSNorm only by γ/rms), then adds β once. So the logit of a token t,

    logit_t = W_U[t] · (γ ⊙ centre(resid) / σ + β)
            = Σ_parts W_U[t] · (γ ⊙ centre(part) / σ)   +   W_U[t] · β,

splits into one number per part: the part's direct contribution. For a difference of two tokens use
W_U[t] − W_U[other]. "Direct" means through the residual stream straight to the output; a head that
matters by changing what later layers do is not counted here (patching finds those).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.model.trace import Trace


@dataclass(frozen=True)
class Attribution:
    """Each part's direct contribution to the logit (or logit difference) at one position."""

    target: int  # the token whose logit is explained
    other: int | None  # with another token: the logit difference target − other is explained
    position: int  # the prompt position read (the last one by default)
    heads: np.ndarray  # (n_layers, n_heads): each head's output through the frozen final norm
    attention_biases: np.ndarray  # (n_layers,): each attention output projection's bias (0 without one)
    mlps: np.ndarray  # (n_layers,): each MLP's output, its down projection's bias left out
    mlp_biases: np.ndarray  # (n_layers,): that bias (0 without one)
    token_embedding: float  # the token embedding's share
    position_embedding: float  # the learned or sinusoidal position vector's share (0 for RoPE / none)
    final_norm_bias: float  # W_U[t] · β of the final LayerNorm (0 for RMSNorm or no bias)
    logit: float  # the model's own logit (difference), from the trace
    norm_scale: float  # the frozen divisor σ (LayerNorm) or rms (RMSNorm) of the final stream

    @property
    def embeddings(self) -> float:
        """Token plus position embedding: what the stream held before the first block."""
        return self.token_embedding + self.position_embedding

    @property
    def total(self) -> float:
        """The sum of every part: equals `logit` up to float rounding (see `error`)."""
        return float(
            self.heads.sum()
            + self.attention_biases.sum()
            + self.mlps.sum()
            + self.mlp_biases.sum()
            + self.embeddings
            + self.final_norm_bias
        )

    @property
    def error(self) -> float:
        """|total − logit|: how closely the parts add up to the model's logit (about 1e-6 in float32)."""
        return abs(self.total - self.logit)


def check_tokens(vocab_size: int, *tokens: int | None) -> None:
    """A ValueError sentence for a token id outside the vocabulary (None stands for no token)."""
    for token in tokens:
        if token is not None and not 0 <= int(token) < vocab_size:
            raise ValueError(f"Token id {token} is not in this model's vocabulary (ids 0 to {vocab_size - 1}).")


def logit_direction(model, target: int, other: int | None = None) -> torch.Tensor:
    """(C,) float64: the output head's row for `target` (minus the row for `other`)."""
    check_tokens(model.config.vocab_size, target, other)
    weight = model.lm_head.weight.detach()
    direction = weight[int(target)].double()
    if other is not None:
        direction = direction - weight[int(other)].double()
    return direction.cpu()


def frozen_final_norm(model, stream: torch.Tensor) -> tuple[torch.Tensor, float, bool]:
    """The final norm at this stream (C,), frozen into a linear map: (γ, divisor, centres).

    Returns γ (C,), the divisor (σ = √(var + eps) for LayerNorm, √(mean(x²) + eps) for RMSNorm) and
    whether the norm subtracts the mean first (LayerNorm does, RMSNorm does not).
    """
    norm = model.transformer.ln_f
    stream = stream.double()
    eps = model.config.layer_norm_eps
    gamma = norm.weight.detach().double().cpu() if norm.weight is not None else torch.ones_like(stream)
    if model.config.norm == "rmsnorm":
        return gamma, float(torch.sqrt((stream**2).mean() + eps)), False
    return gamma, float(torch.sqrt(stream.var(unbiased=False) + eps)), True


def _final_norm_bias(model) -> torch.Tensor | None:
    bias = getattr(model.transformer.ln_f, "bias", None)
    return None if bias is None else bias.detach().double().cpu()


def _head_outputs(model, trace: Trace, layer: int, batch: int, position: int) -> torch.Tensor:
    """(nh, C): each head's output at one position, z_h through its slice of the output projection."""
    config = model.config
    z = trace[f"blocks.{layer}.attn.z"][batch, :, position].double()  # (nh, hs)
    w_out = model.transformer.h[layer].attn.c_proj.weight.detach().double().cpu()  # (C, nh·hs)
    w_out = w_out.view(config.d_model, config.n_heads, config.d_head)  # (C, nh, hs)
    return torch.einsum("hd,chd->hc", z, w_out)  # (nh, C)


def _bias_vector(linear) -> torch.Tensor | None:
    return None if linear.bias is None else linear.bias.detach().double().cpu()


def direct_attribution(
    model, trace: Trace, target: int | None = None, other: int | None = None, position: int = -1, batch: int = 0
) -> Attribution:
    """Each head's, MLP's, embedding's and bias's direct share of the logit of `target` at `position`.

    target: a token id; None takes the model's own top prediction there. other: a second token id, to
    explain the logit difference target − other instead ("Mary" vs "John"). `trace` is a full trace
    of `model` (model.trace(ids)). Raises ValueError for a token id outside the vocabulary.
    """
    config = model.config
    T = trace.ids.shape[1]
    position = position % T if -T <= position < T else position
    if not 0 <= position < T:
        raise ValueError(f"The prompt has positions 0 to {T - 1}, not {position}.")
    logits = trace["logits"][batch, position]  # (vocab,)
    if target is None:
        target = int(torch.argmax(logits))
    direction = logit_direction(model, target, other)  # (C,)
    stream = trace[f"blocks.{config.n_layers - 1}.resid_post"][batch, position]  # (C,)
    gamma, divisor, centres = frozen_final_norm(model, stream)
    reader = direction * gamma / divisor  # (C,): one part -> its share

    def share(part: torch.Tensor | None) -> torch.Tensor:
        """(..., C) -> (...,): the direct contribution of a part (or a stack of parts) of the stream."""
        if part is None:
            return torch.zeros(())
        part = part.double()
        if centres:  # LayerNorm subtracts the whole stream's mean, which is the sum of the parts' means
            part = part - part.mean(dim=-1, keepdim=True)
        return part @ reader

    heads = np.zeros((config.n_layers, config.n_heads))
    attention_biases, mlps, mlp_biases = (np.zeros(config.n_layers) for _ in range(3))
    for layer in range(config.n_layers):
        block = model.transformer.h[layer]
        heads[layer] = share(_head_outputs(model, trace, layer, batch, position)).numpy()
        attention_biases[layer] = float(share(_bias_vector(block.attn.c_proj)))
        mlp_bias = _bias_vector(block.mlp.c_proj)
        mlp_out = trace[f"blocks.{layer}.mlp.out"][batch, position].double()  # (C,)
        mlps[layer] = float(share(mlp_out if mlp_bias is None else mlp_out - mlp_bias))
        mlp_biases[layer] = float(share(mlp_bias))
    token = float(share(trace["embed.tok"][batch, position]))
    position_part = float(share(trace["embed.sum"][batch, position] - trace["embed.tok"][batch, position]))
    bias = _final_norm_bias(model)
    logit = float(logits[target] - (logits[other] if other is not None else 0.0))
    return Attribution(
        target=int(target),
        other=None if other is None else int(other),
        position=position,
        heads=heads,
        attention_biases=attention_biases,
        mlps=mlps,
        mlp_biases=mlp_biases,
        token_embedding=token,
        position_embedding=position_part,
        final_norm_bias=0.0 if bias is None else float(bias @ direction),
        logit=logit,
        norm_scale=divisor,
    )


def token_id(tokenizer, text: str) -> int:
    """The id of `text` as ONE token of `tokenizer` (e.g. ' Mary'); a plain ValueError sentence otherwise."""
    ids = tokenizer.encode(text)
    if len(ids) != 1:
        raise ValueError(
            f"{text!r} is {len(ids)} tokens for this tokenizer, not one; attribution explains a single next "
            f"token, so pick a word that is one token (with its leading space, like ' Mary')."
        )
    return int(ids[0])
