"""The Next token panel's sampling knobs as one value: what the window stores between runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 1.0  # the logits are divided by this: below 1 sharpens, above 1 flattens
    top_k: int = 0  # keep only the k likeliest tokens (0: off)
    top_p: float = 1.0  # keep the likeliest tokens until their probabilities add up to p
    greedy: bool = False  # always take the likeliest token instead of sampling
    generate_count: int = 20  # how many tokens one Generate adds
