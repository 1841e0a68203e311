"""The KV cache, step by step: generate one token at a time and watch the cache fill.

A causal model's earlier tokens never look at later ones, so their keys and values never change.
Generating token after token, the model therefore keeps every layer's keys and values (the cache)
and, for each new token, computes only that token's query, key and value: one new row. The new
query is compared with every cached key, the cached values are mixed, and the new key and value join
the cache. Without the cache every step would run the whole prompt through the model again.

    for step in generate_with_cache(model, prompt_ids, n_new=8):
        step.n_new, step.n_cached          # rows computed now, positions whose keys/values were reused
        step.multiply_adds, step.multiply_adds_without_cache
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from core.model.config import GPTConfig
from core.model.eval_mode import evaluating
from core.model.kv_cache import KVCache, LayerCache
from core.model.sampling import next_token_probs, sample_next
from core.model.trace import tracing_lock


@dataclass(frozen=True)
class CacheStep:
    """One pass of generation with the cache: the prompt at step 0 (prefill), then one token a step."""

    step: int  # 0 = the prompt itself, then 1, 2, ...
    positions: range  # the positions computed in this pass (the new rows)
    n_cached: int  # earlier positions whose keys and values were reused, not recomputed
    query: torch.Tensor  # (n_layers, nh, n_new, hs): the new query rows, layer by layer
    key: torch.Tensor  # (n_layers, nh, n_new, hs): the new keys, added to the cache
    value: torch.Tensor  # (n_layers, nh, n_new, hs): the new values, added to the cache
    next_token: int  # the token chosen after this pass
    next_prob: float  # its probability
    multiply_adds: int  # work of this pass with the cache
    multiply_adds_without_cache: int  # work of the same step recomputing every position

    @property
    def n_new(self) -> int:
        """Rows computed now: the whole prompt at step 0, then 1."""
        return len(self.positions)

    @property
    def cache_length(self) -> int:
        """Positions in the cache after this pass."""
        return self.n_cached + self.n_new

    @property
    def saved(self) -> int:
        return self.multiply_adds_without_cache - self.multiply_adds


def forward_multiply_adds(config: GPTConfig, n_new: int, n_cached: int = 0) -> int:
    """Multiply-adds of one pass over n_new tokens after n_cached cached ones (norms, softmax, GELU left out).

    Per layer and new token: the query/key/value projections, a score and a weighted value for every
    visible key (T = n_cached + n_new of them, as the explicit attention computes whole rows), the
    output projection and the MLP; then the output head for every new token.
    """
    C, T = config.d_model, n_cached + n_new
    kv_width = config.n_kv_heads * config.d_head
    mlp_matrices = 3 if config.mlp == "swiglu" else 2
    per_token = C * (C + 2 * kv_width) + 2 * T * C + C * C + mlp_matrices * C * config.d_mlp
    return n_new * (config.n_layers * per_token + C * config.vocab_size)


def _empty_cache(model, batch: int = 1) -> KVCache:
    config, weight = model.config, model.lm_head.weight
    empty = torch.zeros(batch, config.n_heads, 0, config.d_head, device=weight.device, dtype=weight.dtype)
    return KVCache(0, tuple(LayerCache(empty, empty) for _ in range(config.n_layers)))


def _cached_pass(model, ids: torch.Tensor, past: KVCache) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The new tokens' logits (1, Tn, vocab) and their queries, keys and values, by hook name."""
    recorded: dict[str, torch.Tensor] = {}
    hooks = model.hook_points()
    names = [f"blocks.{layer}.attn.{part}" for layer in range(model.config.n_layers) for part in "qkv"]

    def record(value: torch.Tensor, name: str) -> torch.Tensor:
        recorded[name] = value  # (1, nh, Tn, hs): new rows only
        return value

    with tracing_lock(model):
        for name in names:
            hooks[name].listeners.append(record)
        try:
            logits = model.forward_cached(ids, past)  # (1, Tn, vocab)
        finally:
            for name in names:
                hooks[name].listeners.remove(record)
    return logits, recorded


def generate_with_cache(
    model,
    prompt_ids: Sequence[int],
    n_new: int,
    greedy: bool = True,
    temperature: float = 1.0,
    seed: int | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[CacheStep]:
    """Yield one CacheStep per generated token, n_new in all: step 0 reads the whole prompt (the
    prefill, filling the cache), every later step reads only the token chosen before it.

    Greedy by default (the likeliest token), so the result equals core.model.sampling.generate(greedy=True).
    Stops early, without error, when `cancel` is set. The whole text must fit the model's context.
    """
    ids = [int(token) for token in torch.as_tensor(prompt_ids).reshape(-1).tolist()]
    config = model.config
    if not ids:
        raise ValueError("Give the model at least one token to continue from.")
    if len(ids) + n_new - 1 > config.context_length:
        raise ValueError(
            f"The prompt has {len(ids)} tokens and {n_new} more would make {len(ids) + n_new - 1} for the model "
            f"to read, but it reads at most {config.context_length}; generate fewer or shorten the prompt."
        )
    generator = torch.Generator()
    generator.manual_seed(0 if seed is None else seed)
    device = model.lm_head.weight.device
    past, new_ids = _empty_cache(model), ids
    for step in range(n_new):
        if cancel is not None and cancel.is_set():
            return
        # inference mode and eval mode only around the pass: a generator must not leave them on while it waits
        with torch.inference_mode(), evaluating(model):
            logits, recorded = _cached_pass(model, torch.tensor([new_ids], device=device), past)
            probs = next_token_probs(logits[0, -1], 0.0 if greedy else temperature)  # (vocab,)
            token = int(probs.argmax()) if greedy or temperature == 0 else sample_next(probs, generator)
            done = _step(config, step, past.length, len(new_ids), recorded, token, float(probs[token]))
            past = _grown(past, recorded, config.n_layers)
        yield done
        new_ids = [token]


def _step(config, step: int, n_cached: int, n_rows: int, recorded: dict, token: int, prob: float) -> CacheStep:
    def stacked(part: str) -> torch.Tensor:
        rows = [recorded[f"blocks.{layer}.attn.{part}"][0] for layer in range(config.n_layers)]
        return torch.stack(rows).float().cpu()  # (n_layers, nh, n_new, hs)

    total = n_cached + n_rows
    return CacheStep(
        step,
        range(n_cached, total),
        n_cached,
        stacked("q"),
        stacked("k"),
        stacked("v"),
        token,
        prob,
        forward_multiply_adds(config, n_rows, n_cached),
        forward_multiply_adds(config, total),
    )


def _grown(past: KVCache, recorded: dict, n_layers: int) -> KVCache:
    """The cache with this pass's keys and values appended along the positions."""
    layers = tuple(
        LayerCache(
            torch.cat((old.key, recorded[f"blocks.{layer}.attn.k"]), dim=2),  # (1, nh, p + Tn, hs)
            torch.cat((old.value, recorded[f"blocks.{layer}.attn.v"]), dim=2),
        )  # (1, nh, p + Tn, hs)
        for layer, old in enumerate(past.layers)
    )
    return KVCache(layers[0].key.size(2), layers)


def generated_ids(steps: Sequence[CacheStep], prompt_ids: Sequence[int]) -> list[int]:
    """The prompt followed by every token the steps chose (what sampling.generate returns)."""
    return [int(token) for token in prompt_ids] + [step.next_token for step in steps]
