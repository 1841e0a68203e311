"""The parameter count by part, checked against published sizes and against the real model."""

import pytest

from core import GPT, GPTConfig
from core.model.param_count import FAMOUS_CONFIGS, count_parameters, famous_counts, human_count


def test_gpt2_small_has_124_439_808_parameters_with_tied_embeddings():
    count = count_parameters(FAMOUS_CONFIGS["GPT-2 small"])
    assert count.total == 124_439_808
    assert count.token_embedding == 50257 * 768
    assert count.position_embedding == 1024 * 768
    assert count.head == 0


def test_famous_models_are_the_sizes_people_quote():
    counts = famous_counts()
    assert round(counts["GPT-2 XL"].total / 1e9, 2) == 1.56  # "1.5B"
    assert round(counts["GPT-3"].total / 1e9) == 175  # "175B"
    # In GPT-3 nearly everything sits in the blocks: attention is a third, the MLP two thirds.
    gpt3 = counts["GPT-3"]
    assert gpt3.mlp == pytest.approx(2 * gpt3.attention, rel=1e-3)


@pytest.mark.parametrize(
    "changes",
    [
        dict(),
        dict(pos_encoding="sinusoidal"),
        dict(pos_encoding="rope"),
        dict(pos_encoding="none", bias=False),
        dict(tie_embeddings=False, d_mlp=40),
        dict(n_layers=3, n_heads=1, vocab_size=97, context_length=9),
    ],
)
def test_formula_equals_the_built_model(changes):
    config = GPTConfig(vocab_size=61, context_length=16, d_model=24, n_layers=2, n_heads=2).with_changes(**changes)
    count = count_parameters(config)
    assert count.total == GPT(config).num_params()
    assert sum(n for _, n in count.parts()) == count.total


def test_human_count():
    assert human_count(124_439_808) == "124.4M"
    assert human_count(174_604_259_328) == "174.6B"
    assert human_count(512) == "512"
