"""Neurons (activations per token, direct effect through the output head) and the KV cache step by step
(the cached generation equals the uncached one, one new row a step, the work counted)."""

import threading

import numpy as np
import pytest
import torch

from core.explain.kv_steps import forward_multiply_adds, generate_with_cache, generated_ids
from core.explain.neurons import neuron_activations, neuron_effect, neuron_logit_effect, top_neurons
from core.model.config import GPTConfig
from core.model.sampling import generate
from explain_models import FAMILIES, random_ids, tiny_model


def test_top_neurons_are_the_most_active_over_the_prompt():
    model = tiny_model("gpt2")
    trace = model.trace(random_ids())
    table = top_neurons(trace, 1, k=5)
    post = trace.numpy("blocks.1.mlp.post")  # (T, d_mlp)
    assert table.activations.shape == (12, 5) and table.layer == 1
    assert np.array_equal(table.peaks, np.sort(post.max(axis=0))[::-1][:5])
    assert np.array_equal(table.activations[:, 0], post[:, table.neurons[0]])
    np.testing.assert_array_equal(neuron_activations(trace, 1, 7), post[:, 7])
    with pytest.raises(ValueError, match="neurons 0 to 127"):
        neuron_activations(trace, 1, 128)
    with pytest.raises(ValueError, match="no layer 3"):
        top_neurons(trace, 3)


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_a_neurons_effect_is_what_one_unit_of_it_adds_to_the_logits(family):
    """By experiment: add one unit of the neuron's output to the last stream; with the final norm's
    divisor frozen, every logit moves by the neuron's effect divided by that divisor."""
    model = tiny_model(family)
    trace = model.trace(random_ids())
    stream = trace["blocks.2.resid_post"][0, -1]  # (C,)
    column = model.transformer.h[0].mlp.c_proj.weight[:, 9].detach()  # (C,)
    norm, eps = model.transformer.ln_f, model.config.layer_norm_eps
    layer_norm = model.config.norm == "layernorm"
    divisor = torch.sqrt((stream.var(unbiased=False) if layer_norm else (stream**2).mean()) + eps)

    def frozen_norm(x):
        """The final norm with this prompt's divisor, whatever x is."""
        x = x - x.mean() if layer_norm else x
        return x / divisor * norm.weight + (norm.bias if getattr(norm, "bias", None) is not None else 0)

    with torch.no_grad():
        moved = model.lm_head(frozen_norm(stream + column)) - model.lm_head(frozen_norm(stream))  # (vocab,)
    np.testing.assert_allclose(neuron_logit_effect(model, 0, 9) / divisor, moved, atol=1e-4)
    effect = neuron_effect(model, 0, 9, k=3)
    assert effect.up_ids[0] == int(moved.argmax()) and effect.down_ids[0] == int(moved.argmin())
    assert effect.up_values[0] > effect.up_values[2] > 0 > effect.down_values[2] > effect.down_values[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_cached_generation_equals_the_uncached_one(family):
    model = tiny_model(family)
    prompt = random_ids(n_tokens=6)[0].tolist()
    steps = list(generate_with_cache(model, prompt, 10))
    assert generated_ids(steps, prompt) == generate(model, prompt, 10, greedy=True)
    assert [step.n_new for step in steps] == [6] + [1] * 9
    assert [step.n_cached for step in steps] == [0, *range(6, 15)]
    assert steps[3].positions == range(8, 9) and steps[3].cache_length == 9
    assert steps[3].query.shape == (3, 4, 1, 8) and steps[0].key.shape == (3, 4, 6, 8)


def test_each_steps_new_key_and_value_are_the_full_passes_row():
    """What the cache keeps is what a full pass recomputes: the keys and values of earlier tokens never change."""
    model = tiny_model("qwen2")
    prompt = random_ids(n_tokens=5)[0].tolist()
    steps = list(generate_with_cache(model, prompt, 4))
    full = model.trace(generated_ids(steps, prompt)[:-1])  # every token read
    for step in steps:
        rows = slice(step.positions.start, step.positions.stop)
        for layer in range(3):
            torch.testing.assert_close(step.key[layer], full[f"blocks.{layer}.attn.k"][0, :, rows], atol=1e-5, rtol=0)
            torch.testing.assert_close(step.value[layer], full[f"blocks.{layer}.attn.v"][0, :, rows], atol=1e-5, rtol=0)
            torch.testing.assert_close(step.query[layer], full[f"blocks.{layer}.attn.q"][0, :, rows], atol=1e-5, rtol=0)


def test_the_work_is_counted_by_hand():
    config = GPTConfig(vocab_size=10, d_model=4, n_layers=1, n_heads=2, d_mlp=8)
    # one new token after 2 cached: qkv 4·12 + scores and sum 2·3·4 + out 4·4 + MLP 2·4·8, head 4·10
    assert forward_multiply_adds(config, 1, 2) == 48 + 24 + 16 + 64 + 40
    assert forward_multiply_adds(config, 3) == 3 * (48 + 24 + 16 + 64 + 40)
    model = tiny_model("gpt2")
    steps = list(generate_with_cache(model, [1, 2, 3], 4))
    assert steps[0].saved == 0 and steps[1].saved > 0
    assert steps[3].multiply_adds_without_cache == forward_multiply_adds(model.config, 6)


def test_too_long_a_generation_and_a_cancel():
    model = tiny_model("gpt2")
    with pytest.raises(ValueError, match="reads at most 32"):
        list(generate_with_cache(model, list(range(30)), 4))
    cancel = threading.Event()
    steps = []
    for step in generate_with_cache(model, [1, 2], 10, cancel=cancel):
        steps.append(step)
        if len(steps) == 3:
            cancel.set()
    assert len(steps) == 3


def test_a_waiting_generator_leaves_no_inference_mode_on():
    model = tiny_model("gpt2")
    steps = generate_with_cache(model, [1, 2, 3], 3)
    next(steps)
    assert not torch.is_inference_mode_enabled()
    assert torch.zeros(2).requires_grad_().sum().requires_grad  # gradients work between steps
