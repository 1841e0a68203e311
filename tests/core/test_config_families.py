"""The family switches of GPTConfig: defaults are GPT-2's, each bad value is a sentence, and JSON round-trips."""

import json

import pytest

from core.model.config import GPTConfig


def test_the_defaults_are_todays_gpt():
    config = GPTConfig()
    assert (config.norm, config.mlp, config.rope_theta, config.rope_fraction) == ("layernorm", "gelu", 10000.0, 1.0)
    assert (config.n_kv_heads, config.qkv_bias, config.attn_out_bias) == (config.n_heads, True, True)
    assert (config.parallel_residual, config.attention_windows, config.scale_scores) == (False, None, True)
    assert GPTConfig(bias=False).qkv_bias is False  # the attention biases follow `bias` unless set


@pytest.mark.parametrize(
    "changes, sentence",
    [
        (dict(norm="batchnorm"), "Unknown norm 'batchnorm'; choose one of layernorm, rmsnorm"),
        (dict(mlp="relu"), "Unknown MLP kind 'relu'; choose one of gelu, swiglu"),
        (dict(rope_theta=1), "rope_theta must be a number above 1"),
        (dict(rope_fraction=0), "rope_fraction must lie above 0 and at most 1"),
        (dict(pos_encoding="rope", rope_fraction=0.1), "rope_fraction × d_head must be a positive even number"),
        (dict(n_kv_heads=3), "n_kv_heads must be a positive whole number that divides n_heads \\(4\\)"),
        (dict(parallel_residual="yes"), "parallel_residual must be true or false"),
        (dict(attention_windows=(4,)), "attention_windows must list one window per layer \\(4 of them"),
        (dict(attention_windows=(None, 0, None, None)), "Each attention window is a positive number of tokens"),
    ],
)
def test_each_bad_switch_is_a_sentence(changes, sentence):
    with pytest.raises(ValueError, match=sentence):
        GPTConfig(**changes)


def test_followers_keep_following_when_their_leader_changes():
    config = GPTConfig(n_heads=4)
    assert config.with_changes(n_heads=8).n_kv_heads == 8
    assert GPTConfig(n_heads=4, n_kv_heads=2).with_changes(n_heads=8).n_kv_heads == 2
    assert config.with_changes(bias=False).qkv_bias is False
    assert GPTConfig(bias=False, qkv_bias=True).with_changes(bias=True).qkv_bias is True


def test_a_json_round_trip_gives_the_same_config():
    config = GPTConfig(
        n_layers=2,
        n_heads=4,
        n_kv_heads=1,
        attention_windows=(None, 8),
        norm="rmsnorm",
        mlp="swiglu",
        pos_encoding="rope",
        rope_theta=1e6,
        rope_fraction=0.5,
        scale_scores=False,
    )
    again = GPTConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and again.attention_windows == (None, 8)
    assert (again.rotary_dims, again.heads_per_kv_head, again.window_of(1)) == (16, 4, 8)
