"""Read out (and optionally change) every internal of one forward pass.

    trace = model.trace(ids)
    trace["blocks.0.attn.pattern"]     # (B, n_heads, T, T), each row sums to 1

Names (B = batch, T = tokens, C = d_model, nh = heads, hs = d_head):
    embed.tok (B,T,C)  embed.pos (T,C) or RoPE angles (T,hs/2)  embed.sum (B,T,C)
    blocks.{l}.resid_pre / ln1 / resid_mid / ln2 / resid_post (B,T,C)
    blocks.{l}.attn.q / k / v / z (B,nh,T,hs)   (q and k after RoPE, if any)
    blocks.{l}.attn.scores (scaled, before the mask) / masked_scores / pattern (B,nh,T,T)
    blocks.{l}.attn.out (B,T,C)   blocks.{l}.mlp.pre / post (B,T,d_mlp)   blocks.{l}.mlp.out (B,T,C)
    ln_final (B,T,C)   logits (B,T,vocab)   probs (B,T,vocab)
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import torch

ABLATIONS = ("zero", "mean")


@dataclass(frozen=True)
class Intervention:
    """A what-if: change the model's internals for one pass, without touching its weights."""

    ablate_heads: frozenset = frozenset()       # {(layer, head), ...} whose output is removed
    ablation: str = "zero"                      # "zero": output set to 0; "mean": its mean over positions
    positional: bool = True                     # False switches positional encoding off
    patterns: Mapping = field(default_factory=dict)  # {(layer, head): (T, T) pattern to use instead}

    def __post_init__(self) -> None:
        if self.ablation not in ABLATIONS:
            raise ValueError(f"Unknown ablation {self.ablation!r}; choose 'zero' or 'mean'.")
        object.__setattr__(self, "ablate_heads", frozenset(tuple(h) for h in self.ablate_heads))

    @property
    def is_empty(self) -> bool:
        return not self.ablate_heads and self.positional and not self.patterns


class Trace(Mapping):
    """An immutable record of one forward pass: token ids plus named, detached CPU tensors."""

    def __init__(self, ids: torch.Tensor, tensors: dict[str, torch.Tensor], intervention: Intervention | None = None):
        self._ids = ids.detach().cpu().clone()
        self._tensors = MappingProxyType(dict(tensors))
        self.intervention = intervention or Intervention()

    @property
    def ids(self) -> torch.Tensor:
        """(B, T) token ids."""
        return self._ids.clone()

    def __getitem__(self, name: str) -> torch.Tensor:
        try:
            return self._tensors[name]
        except KeyError:
            raise KeyError(f"This trace has no {name!r}; it recorded {len(self)} names, e.g. {list(self)[:3]}.") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def numpy(self, name: str, batch: int | None = 0) -> np.ndarray:
        """A read-only numpy copy; by default the first batch row (dropping the B dim)."""
        tensor = self[name]
        if batch is not None and name != "embed.pos":
            tensor = tensor[batch]
        array = tensor.float().numpy().copy()
        array.setflags(write=False)
        return array

    def __repr__(self) -> str:
        return f"Trace(tokens={tuple(self._ids.shape)}, names={len(self)})"


NameFilter = Iterable[str] | Callable[[str], bool] | None


def _wanted(names: NameFilter) -> Callable[[str], bool]:
    if names is None:
        return lambda name: True
    if callable(names):
        return names
    chosen = set(names)
    return lambda name: name in chosen


def _as_batch(ids) -> torch.Tensor:
    ids = torch.as_tensor(ids, dtype=torch.long)
    if ids.dim() == 1:
        ids = ids[None, :]  # (T,) -> (1, T)
    if ids.dim() != 2:
        raise ValueError(f"Token ids must be a list or a (batch, tokens) array, not shape {tuple(ids.shape)}.")
    return ids


def _intervention_listeners(intervention: Intervention) -> dict[str, list]:
    """Map hook name -> listeners that carry out the what-if."""
    listeners: dict[str, list] = {}

    if not intervention.positional:
        listeners.setdefault("embed.pos", []).append(lambda value, name: torch.zeros_like(value))

    for layer, head in sorted(intervention.ablate_heads):
        def ablate(z, name, head=head):
            z = z.clone()
            if intervention.ablation == "zero":
                z[:, head] = 0.0
            else:  # replace the head's output at every position by its average over positions
                z[:, head] = z[:, head].mean(dim=1, keepdim=True)
            return z

        listeners.setdefault(f"blocks.{layer}.attn.z", []).append(ablate)

    for (layer, head), new_pattern in intervention.patterns.items():
        def replace_pattern(pattern, name, head=head, new_pattern=new_pattern):
            pattern = pattern.clone()
            T = pattern.size(-1)
            pattern[:, head] = torch.as_tensor(new_pattern, dtype=pattern.dtype)[:T, :T]
            return pattern

        listeners.setdefault(f"blocks.{layer}.attn.pattern", []).append(replace_pattern)
    return listeners


@torch.no_grad()
def run_trace(model, ids, names: NameFilter = None, intervention: Intervention | None = None) -> Trace:
    """Run one forward pass in eval mode and record the chosen internals."""
    intervention = intervention or Intervention()
    ids = _as_batch(ids).to(next(model.parameters()).device)
    wanted = _wanted(names)
    recorded: dict[str, torch.Tensor] = {}
    hooks = model.hook_points()
    unknown = [n for n in intervention_targets(intervention) if n not in hooks]
    if unknown:
        raise ValueError(f"The intervention names places this model does not have: {', '.join(unknown)}.")

    def record(value, name):
        recorded[name] = value.detach().float().cpu()
        return value

    attached: list[tuple] = []
    for name, listeners in _intervention_listeners(intervention).items():
        for listener in listeners:
            attached.append((hooks[name], listener))
    for name, hook in hooks.items():  # record after the edits, so the trace shows what the model used
        if wanted(name):
            attached.append((hook, record))

    was_training = model.training
    model.eval()
    try:
        for hook, listener in attached:
            hook.listeners.append(listener)
        logits, _ = model(ids)
    finally:
        for hook, listener in attached:
            hook.listeners.remove(listener)
        model.train(was_training)
    if wanted("probs"):
        recorded["probs"] = torch.softmax(logits.detach().float().cpu(), dim=-1)
    return Trace(ids, recorded, intervention)


def intervention_targets(intervention: Intervention) -> list[str]:
    return list(_intervention_listeners(intervention))
