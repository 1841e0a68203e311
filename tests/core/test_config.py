"""GPTConfig: sizes are checked with sentences a student can act on; presets; round trip to a dict."""

import json

import pytest

from core.model.config import POSITIONAL_ENCODINGS, PRESETS, GPTConfig, preset


def test_defaults_fill_in_the_mlp_width_and_head_size():
    config = GPTConfig(d_model=48, n_heads=3)
    assert config.d_mlp == 4 * 48
    assert config.d_head == 16


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(d_model=30, n_heads=4), ["d_model (30)", "divisible by n_heads (4)", "try d_model = 28"]),
        (dict(vocab_size=0), ["vocab_size", "positive whole number", "0"]),
        (dict(context_length=-3), ["context_length", "positive whole number", "-3"]),
        (dict(n_layers=2.5), ["n_layers", "positive whole number", "2.5"]),
        (dict(n_heads=True), ["n_heads", "positive whole number"]),
        (dict(d_mlp=0), ["d_mlp", "positive whole number"]),
        (dict(pos_encoding="alibi"), ["Unknown positional encoding 'alibi'", "learned, sinusoidal, rope, none"]),
        (dict(pos_encoding="rope", d_model=12, n_heads=4), ["RoPE", "even", "(it is 3)"]),
        (dict(pos_encoding="sinusoidal", d_model=15, n_heads=5), ["Sinusoidal", "d_model must be even", "15"]),
        (dict(dropout=1.0), ["dropout", "below 1", "1.0"]),
        (dict(dropout=-0.1), ["dropout", "at least 0"]),
    ],
)
def test_invalid_configs_say_what_to_change(changes, words):
    with pytest.raises(ValueError) as error:
        GPTConfig(**changes)
    message = str(error.value)
    for word in words:
        assert word in message
    assert message.endswith(".")


def test_every_encoding_is_accepted():
    for scheme in POSITIONAL_ENCODINGS:
        assert GPTConfig(pos_encoding=scheme).pos_encoding == scheme


def test_presets_have_the_promised_sizes():
    assert PRESETS["nano"] == dict(n_layers=2, n_heads=2, d_model=32)
    micro = preset("micro", vocab_size=65)
    assert (micro.n_layers, micro.n_heads, micro.d_model, micro.d_mlp, micro.vocab_size) == (4, 4, 128, 512, 65)
    small = preset("small")
    assert (small.n_layers, small.n_heads, small.d_model, small.d_head) == (6, 6, 384, 64)


def test_preset_overrides_are_validated_too():
    with pytest.raises(ValueError, match="divisible by n_heads"):
        preset("nano", d_model=33)


def test_unknown_preset_lists_the_choices():
    with pytest.raises(ValueError, match="Unknown preset 'huge'; choose one of nano, micro, small"):
        preset("huge")


def test_config_is_frozen():
    config = GPTConfig()
    with pytest.raises(AttributeError):
        config.d_model = 64  # type: ignore[misc]


def test_to_dict_from_dict_round_trip_through_json():
    config = GPTConfig(
        vocab_size=97,
        context_length=32,
        d_model=48,
        n_layers=3,
        n_heads=6,
        d_mlp=100,
        dropout=0.1,
        pos_encoding="rope",
        tie_embeddings=False,
        bias=False,
    )
    values = json.loads(json.dumps(config.to_dict()))
    assert values["d_mlp"] == 100 and values["pos_encoding"] == "rope"
    assert GPTConfig.from_dict(values) == config


def test_from_dict_rejects_unknown_settings():
    with pytest.raises(ValueError, match="Unknown model settings: colour, n_embd"):
        GPTConfig.from_dict({**GPTConfig().to_dict(), "n_embd": 32, "colour": "red"})


def test_with_changes_makes_a_new_checked_config():
    config = GPTConfig(d_model=64, n_heads=4)
    assert config.with_changes(n_heads=8).d_head == 8
    assert config.d_head == 16
    with pytest.raises(ValueError):
        config.with_changes(n_heads=5)


def test_with_changes_keeps_the_mlp_at_four_times_a_new_width_unless_it_was_set():
    assert GPTConfig(d_model=64).with_changes(d_model=96).d_mlp == 384
    assert GPTConfig(d_model=64, d_mlp=100).with_changes(d_model=96).d_mlp == 100
