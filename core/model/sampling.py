"""From next-token logits to the next token: temperature, top-k, top-p, and writing text one token at a time.

The order is the usual one: divide the logits by the temperature, softmax, keep the top k, keep the
top p of what is left, renormalise, draw.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from core.model.eval_mode import evaluating

# Mass comparisons for top-p are done in float64; this absorbs the rounding of a cumulative sum.
_ROUNDING = 1e-12


def next_token_probs(
    logits_1d, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """(vocab,) logits -> (vocab,) probabilities that sum to 1, with the choices made above.

    temperature 0 means greedy: all mass on the largest logit (the first one, if several tie).
    top_k keeps the k most likely tokens; top_p keeps the smallest set of most likely tokens whose
    mass reaches p (measured after top_k). What is kept is renormalised.
    """
    logits = torch.as_tensor(logits_1d).detach().to(dtype=torch.float64, device="cpu")
    _check_settings(logits, temperature, top_k, top_p)
    if temperature == 0:
        return torch.nn.functional.one_hot(logits.argmax(), logits.numel()).float()
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_k is not None and top_k < probs.numel():
        probs = _keep_top_k(probs, top_k)
    if top_p is not None and top_p < 1.0:
        probs = _keep_top_p(probs, top_p)
    return probs.float()


def _check_settings(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None) -> None:
    if logits.dim() != 1 or logits.numel() == 0:
        raise ValueError(f"Expected one row of logits (vocab,), got shape {tuple(logits.shape)}.")
    if not temperature >= 0:
        raise ValueError(f"Temperature must be 0 (greedy) or more, not {temperature}.")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a whole number of tokens, at least 1 (or None for all), not {top_k!r}.")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must be above 0 and at most 1 (or None for all), not {top_p!r}.")


def _keep_top_k(probs: torch.Tensor, k: int) -> torch.Tensor:
    kept = torch.zeros_like(probs)
    best = torch.topk(probs, k).indices
    kept[best] = probs[best]
    return kept / kept.sum()


def _keep_top_p(probs: torch.Tensor, p: float) -> torch.Tensor:
    sorted_probs, order = torch.sort(probs, descending=True)
    mass_before = torch.cumsum(sorted_probs, dim=0) - sorted_probs  # mass of the more likely tokens
    keep_sorted = mass_before < p - _ROUNDING  # still short of p before this one
    kept = torch.zeros_like(probs)
    kept[order[keep_sorted]] = sorted_probs[keep_sorted]
    return kept / kept.sum()


def sample_next(probs: torch.Tensor, generator: torch.Generator | None = None) -> int:
    """Draw one token id from (vocab,) probabilities."""
    probs = torch.as_tensor(probs).detach().to(dtype=torch.float64, device="cpu")
    if probs.dim() != 1 or bool((probs < 0).any()) or not probs.sum() > 0:
        raise ValueError("Sampling needs one row of probabilities that are 0 or more and not all 0.")
    return int(torch.multinomial(probs, 1, generator=generator))


@torch.no_grad()
def generate(
    model,
    ids: Sequence[int] | torch.Tensor,
    n_new: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
    seed: int | None = None,
) -> list[int]:
    """The prompt followed by n_new generated ids. The model only ever reads the last
    context_length tokens (older ones are cropped). The same seed gives the same text."""
    sequence = [int(token) for token in torch.as_tensor(ids).reshape(-1).tolist()]
    if not sequence:
        raise ValueError("Give the model at least one token to continue from.")
    if isinstance(n_new, bool) or not isinstance(n_new, int) or n_new < 0:
        raise ValueError(f"The number of new tokens must be a whole number, 0 or more, not {n_new!r}.")
    generator = torch.Generator()
    if seed is None:
        generator.seed()  # a fresh random seed (a new Generator would always start from the same one)
    else:
        generator.manual_seed(seed)
    device = next(model.parameters()).device
    window = model.config.context_length
    with evaluating(model):
        for _ in range(n_new):
            context = torch.tensor([sequence[-window:]], device=device)  # (1, T ≤ context_length)
            logits, _ = model(context)
            last = logits[0, -1]  # (vocab,) for the next token
            probs = next_token_probs(last, 0.0 if greedy else temperature, top_k, top_p)
            sequence.append(int(probs.argmax()) if greedy or temperature == 0 else sample_next(probs, generator))
    return sequence
