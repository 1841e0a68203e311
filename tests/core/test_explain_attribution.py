"""The logit lens reads each layer's stream as the model reads its last one, and direct attribution's
parts add up to the model's own logit, for every model family the core runs."""

import numpy as np
import pytest
import torch

from core.explain.attribution import direct_attribution, token_id
from core.explain.logit_lens import extend_lens, lens_probabilities, logit_lens, residual_rows, unchanged_positions
from core.model.trace import Intervention
from core.tokenizers import CharTokenizer
from explain_models import FAMILIES, random_ids, tiny_model


@pytest.mark.parametrize("family", FAMILIES)
def test_the_lens_last_row_is_the_models_own_prediction(family):
    model = tiny_model(family)
    trace = model.trace(random_ids())
    lens = logit_lens(model, trace, k=5)
    assert lens.top_ids.shape == (4, 12, 5) and lens.rows == ("embeddings", "layer 0", "layer 1", "layer 2")
    best = torch.topk(trace["probs"][0], 5, dim=-1)  # (T, 5) each
    assert np.array_equal(lens.top_ids[-1], best.indices.numpy())
    np.testing.assert_allclose(lens.top_probs[-1], best.values.numpy(), atol=1e-5)
    np.testing.assert_allclose(lens_probabilities(model, trace, 3, 7), trace.numpy("probs")[7], atol=1e-5)


def test_the_lens_first_row_reads_the_embeddings_through_the_head():
    """Row 0, by hand: the token (+ position) vector, final norm, output head, softmax."""
    model = tiny_model("gpt2")
    ids = random_ids()
    trace = model.trace(ids)
    with torch.no_grad():
        stream = model.transformer.wte.weight[ids[0, 4]] + model.transformer.wpe.weight[4]  # (C,)
        by_hand = torch.softmax(model.lm_head(model.transformer.ln_f(stream)), dim=-1)  # (vocab,)
    np.testing.assert_allclose(lens_probabilities(model, trace, 0, 4), by_hand.numpy(), atol=1e-6)
    assert logit_lens(model, trace, k=3).top_ids[0, 4, 0] == int(by_hand.argmax())


@pytest.mark.parametrize("family", FAMILIES)
def test_the_parts_add_up_to_the_logit_in_every_family(family):
    model = tiny_model(family)
    trace = model.trace(random_ids(n_tokens=10))
    top = direct_attribution(model, trace)
    assert top.target == int(trace["logits"][0, -1].argmax()) and top.position == 9
    assert top.heads.shape == (3, 4) and top.mlps.shape == (3,)
    assert top.error < 1e-4 and abs(top.logit) > 0.1
    difference = direct_attribution(model, trace, target=3, other=7, position=4)
    assert difference.logit == pytest.approx(float(trace["logits"][0, 4, 3] - trace["logits"][0, 4, 7]), abs=1e-6)
    assert difference.error < 1e-4
    has_bias = model.config.bias
    assert (top.mlp_biases != 0).any() == has_bias and (top.final_norm_bias != 0) == (
        has_bias and model.config.norm == "layernorm"
    )
    assert (top.position_embedding != 0) == (model.config.pos_encoding in ("learned", "sinusoidal"))


def test_a_heads_share_is_its_output_read_through_the_frozen_norm_by_hand():
    """By hand: the head's output is what the core's own zero-ablation takes out of attention's output;
    take it out of the last stream and read that through the final norm with the stream's own divisor:
    the logit falls by exactly the head's share."""
    model = tiny_model("gpt2")
    ids = random_ids()
    trace = model.trace(ids)
    target = int(trace["logits"][0, -1].argmax())
    for layer, head in ((2, 1), (0, 3)):
        share = direct_attribution(model, trace, target).heads[layer, head]
        ablated = model.trace(ids, intervention=Intervention(ablate_heads={(layer, head)}))
        name = f"blocks.{layer}.attn.out"
        head_output = (trace[name][0, -1] - ablated[name][0, -1]).double()  # (C,)
        stream = trace["blocks.2.resid_post"][0, -1].double()  # (C,)
        norm = model.transformer.ln_f
        sigma = torch.sqrt(stream.var(unbiased=False) + model.config.layer_norm_eps)
        without = stream - head_output
        frozen = (without - without.mean()) / sigma * norm.weight.detach().double() + norm.bias.detach().double()
        logit_without = float(model.lm_head.weight[target].detach().double() @ frozen)
        assert float(trace["logits"][0, -1, target]) - logit_without == pytest.approx(share, abs=1e-4)


def test_a_token_outside_the_vocabulary_is_a_sentence():
    model = tiny_model("gpt2")
    trace = model.trace(random_ids())
    with pytest.raises(ValueError, match="not in this model's vocabulary"):
        direct_attribution(model, trace, target=40)
    with pytest.raises(ValueError, match="positions 0 to 11"):
        direct_attribution(model, trace, position=12)


def test_a_word_that_is_several_tokens_is_a_sentence():
    tokenizer = CharTokenizer.from_text("abc Mary")
    assert token_id(tokenizer, "M") == tokenizer.encode("M")[0]
    with pytest.raises(ValueError, match="'Mary' is 4 tokens"):
        token_id(tokenizer, "Mary")


def test_the_lens_can_read_only_some_positions():
    model = tiny_model("llama")
    trace = model.trace(random_ids())
    full, some = logit_lens(model, trace, k=4), logit_lens(model, trace, k=4, positions=[2, 11])
    assert some.top_ids.shape == (4, 2, 4)
    assert np.array_equal(some.top_ids, full.top_ids[:, [2, 11]])
    np.testing.assert_allclose(some.top_probs, full.top_probs[:, [2, 11]], atol=1e-6)


def test_a_lens_extended_after_a_keystroke_equals_the_full_lens_and_reads_only_the_new_positions():
    model = tiny_model("gpt2")
    before = random_ids()  # (1, 12)
    after = torch.cat(
        [before[:, :10], (before[:, 10:] + 1) % 16, before[:, :1]], dim=1
    )  # (1, 13): last two changed, one added
    old_trace, new_trace = model.trace(before), model.trace(after)
    old_rows, new_rows = residual_rows(old_trace, 3), residual_rows(new_trace, 3)
    assert unchanged_positions(new_rows, old_rows) == 10
    extended = extend_lens(model, new_trace, logit_lens(model, old_trace, k=4), old_rows, k=4)
    full = logit_lens(model, new_trace, k=4)
    assert np.array_equal(extended.top_ids, full.top_ids)
    np.testing.assert_allclose(extended.top_probs, full.top_probs, atol=1e-6)
    # a shorter prompt (a backspace) keeps the columns it still has
    shorter = extend_lens(model, old_trace, full, new_rows, k=4)
    assert np.array_equal(shorter.top_ids, logit_lens(model, old_trace, k=4).top_ids)


def test_a_what_if_on_the_same_prompt_changes_every_stream_after_it_so_nothing_is_reused():
    model = tiny_model("gpt2")
    ids = random_ids()
    plain = model.trace(ids)
    ablated = model.trace(ids, intervention=Intervention(ablate_heads={(0, 0)}))
    assert unchanged_positions(residual_rows(ablated, 3), residual_rows(plain, 3)) == 0
    extended = extend_lens(model, ablated, logit_lens(model, plain, k=4), residual_rows(plain, 3), k=4)
    assert np.array_equal(extended.top_ids, logit_lens(model, ablated, k=4).top_ids)
