"""Live numbers for the "Why this next token?" lesson: the logit lens, direct attribution, neurons and
the KV cache, for the student's own prompt (core/explain computes them; this module picks the few a
sentence quotes).

Most of them need the model's weights (its output head, each head's slice of the output projection),
which the trace does not hold, so whoever builds the LessonContext works them out once with
explain_facts(model, trace) and passes them as its `explanation`; without it these numbers are None.
The KV cache's counts need only the model's shape and the prompt's length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.explain.attribution import Attribution, direct_attribution
from core.explain.kv_steps import forward_multiply_adds
from core.explain.logit_lens import lens_probabilities
from core.explain.neurons import neuron_effect, top_neurons
from core.model.trace import Trace

EXPLAIN_DOCS: dict[str, str] = {
    # the logit lens, at the last position
    "lens_first_layer": "the first layer after which the logit lens already ranks the final top token first "
    "(-1: the embeddings do)",
    "lens_first_row": "the same in words: 'the embeddings' or 'layer 2'",
    "lens_early_token": "the logit lens's top token right after layer 0",
    "lens_early_prob": "its probability there",
    "lens_top_prob_before_last": "the final top token's probability one layer before the end",
    # direct attribution of the top token's logit, through the final norm frozen at this prompt
    "head_share": "the chosen head's direct share of the top token's logit",
    "top_share_head": "the head (layer.head) with the largest direct share of the top token's logit",
    "top_share": "that head's share",
    "mlp_share": "the chosen layer's MLP's direct share of the top token's logit",
    "heads_share": "every head's share added up",
    "mlps_share": "every MLP's share added up",
    "embedding_share": "the embeddings' share (token plus position)",
    "shares_total": "every part's share added up, biases included: the top token's logit again",
    "shares_error": "how far that sum is from the model's logit (float rounding)",
    # neurons of the chosen layer's MLP
    "top_neuron": "the chosen layer's most active MLP neuron over the prompt",
    "top_neuron_activation": "its highest activation",
    "top_neuron_token": "the token where it peaks",
    "neuron_up_token": "the token that neuron pushes up most",
    "neuron_down_token": "the token it pushes down most",
    # the KV cache, for the token after the prompt
    "cache_reused": "earlier positions whose keys and values the cache hands to the next token",
    "cache_work": "multiply-adds to compute the next token with the cache",
    "no_cache_work": "multiply-adds without it (the whole prompt again)",
    "cache_saving": "the share of the work the cache saves (0–1)",
}


@dataclass(frozen=True)
class NeuronFacts:
    neuron: int  # the layer's most active neuron over the prompt
    activation: float  # its highest activation
    position: int  # where it peaks
    up_token: int  # the token it pushes up most (direct effect)
    down_token: int  # the token it pushes down most


@dataclass(frozen=True)
class ExplainFacts:
    attribution: Attribution  # the top next token's logit, split into parts
    lens_top_tokens: tuple[int, ...]  # the lens's top token at the last position, per row (embeddings first)
    lens_top_probs: tuple[float, ...]  # that token's probability there, per row
    lens_target_probs: tuple[float, ...]  # the final top token's probability per row
    neurons: tuple[NeuronFacts, ...]  # one per layer


def explain_facts(model, trace: Trace) -> ExplainFacts:
    """Everything the lesson's numbers need from the weights, for a full trace of `model` (batch of 1)."""
    attribution = direct_attribution(model, trace)
    last = trace.ids.shape[1] - 1
    rows = [lens_probabilities(model, trace, row, last) for row in range(model.config.n_layers + 1)]  # (vocab,) each
    neurons = []
    for layer in range(model.config.n_layers):
        table = top_neurons(trace, layer, k=1)
        effect = neuron_effect(model, layer, int(table.neurons[0]), k=1)
        neurons.append(
            NeuronFacts(
                int(table.neurons[0]),
                float(table.peaks[0]),
                int(np.argmax(table.activations[:, 0])),
                int(effect.up_ids[0]),
                int(effect.down_ids[0]),
            )
        )
    return ExplainFacts(
        attribution,
        tuple(int(np.argmax(row)) for row in rows),
        tuple(float(row.max()) for row in rows),
        tuple(float(row[attribution.target]) for row in rows),
        tuple(neurons),
    )


def explain_numbers(ctx) -> dict:
    """The lesson's numbers for a LessonContext (core.teaching.lesson_numbers)."""
    numbers = dict.fromkeys(EXPLAIN_DOCS)
    numbers.update(cache_numbers(ctx.config, ctx.trace.ids.shape[1]))
    facts = getattr(ctx, "explanation", None)
    if facts is None:
        return numbers
    numbers.update(_lens_numbers(facts, ctx.vocab_labels))
    numbers.update(_share_numbers(facts.attribution, ctx.layer, ctx.head))
    neuron = facts.neurons[ctx.layer]
    numbers.update(
        top_neuron=neuron.neuron,
        top_neuron_activation=neuron.activation,
        top_neuron_token=ctx.token_labels[neuron.position],
        neuron_up_token=ctx.vocab_labels[neuron.up_token],
        neuron_down_token=ctx.vocab_labels[neuron.down_token],
    )
    return numbers


def _lens_numbers(facts: ExplainFacts, vocab_labels) -> dict:
    final = facts.lens_top_tokens[-1]
    first_row = next(row for row, token in enumerate(facts.lens_top_tokens) if token == final)
    return {
        "lens_first_layer": first_row - 1,
        "lens_first_row": "the embeddings" if first_row == 0 else f"layer {first_row - 1}",
        "lens_early_token": vocab_labels[facts.lens_top_tokens[1]],
        "lens_early_prob": facts.lens_top_probs[1],
        "lens_top_prob_before_last": facts.lens_target_probs[-2],
    }


def _share_numbers(attribution: Attribution, layer: int, head: int) -> dict:
    best_layer, best_head = np.unravel_index(np.argmax(attribution.heads), attribution.heads.shape)
    return {
        "head_share": float(attribution.heads[layer, head]),
        "top_share_head": f"{best_layer}.{best_head}",
        "top_share": float(attribution.heads[best_layer, best_head]),
        "mlp_share": float(attribution.mlps[layer]),
        "heads_share": float(attribution.heads.sum()),
        "mlps_share": float(attribution.mlps.sum()),
        "embedding_share": attribution.embeddings,
        "shares_total": attribution.total,
        "shares_error": attribution.error,
    }


def cache_numbers(config, n_tokens: int) -> dict:
    """The next token after an n_tokens prompt, with and without the cache."""
    with_cache = forward_multiply_adds(config, 1, n_tokens)
    without = forward_multiply_adds(config, n_tokens + 1)
    return {
        "cache_reused": n_tokens,
        "cache_work": with_cache,
        "no_cache_work": without,
        "cache_saving": 1 - with_cache / without,
    }


# The numbers that need the weights (explain_facts); the cache's need only the shape.
WEIGHT_NUMBERS = frozenset(EXPLAIN_DOCS) - {"cache_reused", "cache_work", "no_cache_work", "cache_saving"}


def explanation_for(model, trace: Trace, names_used) -> ExplainFacts | None:
    """explain_facts for a step that quotes or checks one of its numbers; None for any other step (the
    numbers are then missing, and cost nothing) and for a trace recorded without every name."""
    if not WEIGHT_NUMBERS & set(names_used):
        return None
    try:
        return explain_facts(model, trace)
    except KeyError:  # a partial trace: the sentences that need these numbers are left out
        return None
