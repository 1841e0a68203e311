"""A what-if: edits a trace makes to the model's internals for one pass, without touching its weights.

    Intervention(ablate_heads={(0, 1)})               # layer 0 head 1 adds nothing
    Intervention(ablate_heads={(0, 1)}, ablation="mean")  # ...or only its average over positions
    Intervention(positional=False)                    # no positional encoding
    Intervention(patterns={(1, 0): table})            # layer 1 head 0 attends as `table` says

core/model/trace.py carries them out: each becomes a listener on one hook point (core/model/hooks.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

ABLATIONS = ("zero", "mean")


@dataclass(frozen=True)
class Intervention:
    """A what-if: change the model's internals for one pass, without touching its weights."""

    ablate_heads: frozenset = frozenset()  # {(layer, head), ...} whose output is removed
    ablation: str = "zero"  # "zero": output set to 0; "mean": its mean over positions
    positional: bool = True  # False switches positional encoding off
    patterns: Mapping = field(default_factory=dict, hash=False)  # {(layer, head): (T, T) pattern to use instead}

    def __post_init__(self) -> None:
        if self.ablation not in ABLATIONS:
            raise ValueError(f"Unknown ablation {self.ablation!r}; choose 'zero' or 'mean'.")
        object.__setattr__(self, "ablate_heads", frozenset(tuple(h) for h in self.ablate_heads))
        patterns = {tuple(where): as_square_pattern(pattern, where) for where, pattern in self.patterns.items()}
        object.__setattr__(self, "patterns", patterns)  # our own copy: the caller's dict may change later

    @property
    def is_empty(self) -> bool:
        return not self.ablate_heads and self.positional and not self.patterns


def as_square_pattern(pattern, where) -> torch.Tensor:
    pattern = torch.as_tensor(pattern, dtype=torch.float32).detach().clone()
    if pattern.dim() != 2 or pattern.size(0) != pattern.size(1):
        raise ValueError(
            f"The replacement pattern for layer {where[0]}, head {where[1]} must be a square (tokens, tokens) "
            f"table, but it has shape {tuple(pattern.shape)}."
        )
    return pattern


def check_heads(intervention: Intervention, config) -> None:
    """Every head the what-if names must exist in a model of this `config` (ValueError with a sentence if not)."""
    for layer, head in sorted(intervention.ablate_heads | set(intervention.patterns)):
        if not 0 <= layer < config.n_layers:
            raise ValueError(f"The what-if names layer {layer}, but this model has layers 0 to {config.n_layers - 1}.")
        if not 0 <= head < config.n_heads:
            raise ValueError(
                f"The what-if names head {head} of layer {layer}, but each layer has heads 0 to {config.n_heads - 1}."
            )


def check_intervention(intervention: Intervention, config, n_tokens: int) -> None:
    """Every head named by the what-if must exist, and every replacement pattern must cover the prompt."""
    check_heads(intervention, config)
    for (layer, head), pattern in intervention.patterns.items():
        if pattern.size(0) < n_tokens:
            raise ValueError(
                f"The replacement pattern for layer {layer}, head {head} is {pattern.size(0)}x{pattern.size(0)}, "
                f"but the prompt has {n_tokens} tokens; give at least a {n_tokens}x{n_tokens} table."
            )


def intervention_listeners(intervention: Intervention) -> dict[str, list]:
    """Map hook name -> listeners that carry out the what-if."""
    listeners: dict[str, list] = {}

    if not intervention.positional:
        listeners.setdefault("embed.pos", []).append(lambda value, name: torch.zeros_like(value))

    for layer, head in sorted(intervention.ablate_heads):

        def ablate(z, name, head=head):
            z = z.clone()  # (B, nh, T, hs)
            if intervention.ablation == "zero":
                z[:, head] = 0.0
            else:  # replace the head's output at every position by its average over positions
                z[:, head] = z[:, head].mean(dim=1, keepdim=True)  # (B, T, hs) <- (B, 1, hs)
            return z

        listeners.setdefault(f"blocks.{layer}.attn.z", []).append(ablate)

    for (layer, head), new_pattern in intervention.patterns.items():

        def replace_pattern(pattern, name, head=head, new_pattern=new_pattern):
            pattern = pattern.clone()  # (B, nh, T, T)
            T = pattern.size(-1)
            pattern[:, head] = new_pattern[:T, :T].to(pattern.device, pattern.dtype)
            return pattern

        listeners.setdefault(f"blocks.{layer}.attn.pattern", []).append(replace_pattern)
    return listeners
