"""Positional encodings: how a transformer learns *where* each token sits.

Attention by itself treats the prompt as a bag of tokens. Each scheme here gives position back:
- learned:    a trainable vector per position, added to the token embedding (GPT-2).
- sinusoidal: fixed sines and cosines of different wavelengths, added (the original Transformer).
- rope:       no vector is added; queries and keys are rotated by an angle that grows with position,
              so q·k depends on how far apart two tokens are (LLaMA and most modern models).
- none:       no position at all; only the causal mask hints at order.
"""

from __future__ import annotations

import torch


def sinusoidal_table(context_length: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """(context_length, d_model): even dims hold sin(pos·ω_i), odd dims cos(pos·ω_i)."""
    position = torch.arange(context_length, dtype=torch.float32)[:, None]  # (T, 1)
    frequencies = base ** (-torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)  # (C/2,)
    angles = position * frequencies  # (T, C/2)
    table = torch.zeros(context_length, d_model)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles)
    return table


def rope_angles(context_length: int, rotary_dims: int, base: float = 10000.0) -> torch.Tensor:
    """(context_length, rotary_dims/2): the angle by which each pair of dims is turned at each position.

    rotary_dims is d_head unless only part of each head is turned (Pythia turns a quarter). The base
    (theta) sets the slowest pair's wavelength: 10,000 in the original RoPE, 1,000,000 in Qwen2.5.
    """
    position = torch.arange(context_length, dtype=torch.float32)[:, None]  # (T, 1)
    # 1 / base^(2i/rot), written as Hugging Face's models write it so the float32 roundings agree.
    frequencies = 1.0 / (base ** (torch.arange(0, rotary_dims, 2, dtype=torch.float32) / rotary_dims))  # (rot/2,)
    return position * frequencies  # (T, rot/2)


def apply_rope(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate each pair of dims (2i, 2i+1) of x (B, nh, T, hs) by angles (T, rot/2).

    Only the first rot = 2·angles.size(-1) dims turn; any after them (partial rotary) pass unchanged.
    """
    rotary_dims = 2 * angles.size(-1)
    turned, unturned = x[..., :rotary_dims], x[..., rotary_dims:]  # (B, nh, T, rot), (B, nh, T, hs-rot)
    even, odd = turned[..., 0::2], turned[..., 1::2]  # (B, nh, T, rot/2)
    cos, sin = torch.cos(angles), torch.sin(angles)  # (T, rot/2)
    rotated_even = even * cos - odd * sin
    rotated_odd = even * sin + odd * cos
    rotated = torch.stack((rotated_even, rotated_odd), dim=-1).flatten(-2)  # (B, nh, T, rot)
    if not unturned.size(-1):
        return rotated
    return torch.cat((rotated, unturned), dim=-1)  # (B, nh, T, hs)
