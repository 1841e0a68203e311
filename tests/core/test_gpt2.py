"""GPT-2's layout: Hugging Face weights load into our GPT and give the same logits; folders load offline."""

import json
import re

import pytest
import torch

transformers = pytest.importorskip("transformers")

from core import GPT  # noqa: E402
from core.files.gpt2 import gpt2_config_from_hf, load_gpt2, load_hf_state_dict  # noqa: E402

VOCAB = 260  # 256 byte tokens, 3 merges, <|endoftext|>
END_OF_TEXT_ID = 259


@pytest.fixture(scope="module")
def reference():
    """A small, randomly initialised GPT2LMHeadModel (nothing downloaded) with lively weights."""
    config = transformers.GPT2Config(
        n_layer=2,
        n_head=2,
        n_embd=32,
        vocab_size=VOCAB,
        n_positions=16,
        bos_token_id=END_OF_TEXT_ID,
        eos_token_id=END_OF_TEXT_ID,
    )
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # GPT-2's 0.02 init makes every logit tiny; a wide spread makes the test sharp
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.3)
    return model


def _reference_logits(reference, ids):
    with torch.no_grad():
        return reference(ids).logits


def _assert_same_logits(ours: GPT, reference) -> None:
    ids = torch.randint(0, VOCAB, (2, 16), generator=torch.Generator().manual_seed(1))
    expected = _reference_logits(reference, ids)
    with torch.no_grad():
        logits, _ = ours(ids)
    assert expected.abs().max() > 1.0  # real, spread-out numbers
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=1e-4)


def test_config_maps_to_ours(reference):
    config = gpt2_config_from_hf(reference.config.to_dict())
    assert (config.vocab_size, config.context_length, config.d_model, config.n_layers, config.n_heads) == (
        VOCAB,
        16,
        32,
        2,
        2,
    )
    assert (config.d_mlp, config.pos_encoding, config.tie_embeddings, config.bias, config.dropout) == (
        128,
        "learned",
        True,
        True,
        0.0,
    )


def test_hugging_face_state_dict_gives_the_same_logits(reference):
    ours = load_hf_state_dict(gpt2_config_from_hf(reference.config.to_dict()), reference.state_dict())
    _assert_same_logits(ours, reference)
    assert ours.lm_head.weight is ours.transformer.wte.weight
    # Conv1D stores (in, out): our c_attn is its transpose
    torch.testing.assert_close(
        ours.transformer.h[1].attn.c_attn.weight, reference.transformer.h[1].attn.c_attn.weight.T
    )


def test_keys_without_the_transformer_prefix_and_old_mask_buffers_load_too(reference):
    """Original GPT-2 checkpoints name 'h.0...' and carry attn.bias / attn.masked_bias mask buffers."""
    old_style = {name.removeprefix("transformer."): value for name, value in reference.state_dict().items()}
    for layer in range(2):
        old_style[f"h.{layer}.attn.bias"] = torch.tril(torch.ones(1, 1, 16, 16))
        old_style[f"h.{layer}.attn.masked_bias"] = torch.tensor(-1e4)
    model = GPT(gpt2_config_from_hf(reference.config.to_dict()))
    assert load_hf_state_dict(model, old_style) is model
    _assert_same_logits(model, reference)


def test_a_missing_or_extra_weight_is_named(reference):
    config = gpt2_config_from_hf(reference.config.to_dict())
    state = dict(reference.state_dict())
    del state["transformer.h.1.ln_2.bias"]
    state["transformer.h.2.ln_1.weight"] = torch.ones(32)
    with pytest.raises(ValueError) as error:
        load_hf_state_dict(config, state, source="weights.safetensors")
    message = str(error.value)
    assert "weights.safetensors does not fit a GPT-2 with n_layer=2" in message
    assert "lacks 1 weight(s), e.g. h.1.ln_2.bias" in message
    assert "has 1 weight(s) this model does not, e.g. h.2.ln_1.weight" in message


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(activation_function="relu"), "activation 'relu'"),
        (dict(model_type="bert"), "describes a 'bert' model"),
        (dict(scale_attn_by_inverse_layer_idx=True), "scaled"),
        (dict(n_embd=30, n_head=4), "config.json: d_model (30) must be divisible by n_heads (4)"),
    ],
)
def test_configs_this_gpt_cannot_follow_are_refused(reference, changes, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        gpt2_config_from_hf({**reference.config.to_dict(), **changes})


def test_a_config_without_a_size_names_it(reference):
    values = reference.config.to_dict()
    del values["n_embd"]
    with pytest.raises(ValueError, match="config.json has no 'n_embd'"):
        gpt2_config_from_hf(values)


# -- a whole folder ---------------------------------------------------------------------------------
def _write_tokenizer_files(folder) -> None:
    from core.tokenizers.gpt2 import bytes_to_unicode

    spelling = bytes_to_unicode()
    vocab = {spelling[byte]: byte for byte in range(256)}
    vocab.update({"Ġt": 256, "he": 257, "Ġthe": 258, "<|endoftext|>": END_OF_TEXT_ID})
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\nĠ t\nh e\nĠt he\n", encoding="utf-8")


@pytest.fixture
def folder(tmp_path, reference):
    reference.save_pretrained(tmp_path, safe_serialization=True)
    _write_tokenizer_files(tmp_path)
    return tmp_path


def _tokenizers_ready() -> bool:
    try:
        import core.tokenizers.gpt2  # noqa: F401
    except ImportError:
        return False
    return True


needs_gpt2_tokenizer = pytest.mark.skipif(not _tokenizers_ready(), reason="core.tokenizers.gpt2 not written yet")


@needs_gpt2_tokenizer
def test_load_gpt2_opens_a_saved_folder(folder, reference):
    model, tokenizer = load_gpt2(folder)
    _assert_same_logits(model, reference)
    assert tokenizer.encode(" the the") == [258, 258]
    assert tokenizer.decode([258, 104, 105]) == " thehi"
    assert not model.training


@needs_gpt2_tokenizer
def test_load_gpt2_reads_pytorch_model_bin_when_there_is_no_safetensors(folder, reference):
    (folder / "model.safetensors").unlink()
    torch.save(reference.state_dict(), folder / "pytorch_model.bin")
    model, _ = load_gpt2(folder)
    _assert_same_logits(model, reference)


class _NotAWeight:
    pass


def test_a_bin_file_that_is_not_plain_tensors_is_refused_without_unpickling(folder):
    (folder / "model.safetensors").unlink()
    torch.save({"h.0.ln_1.weight": _NotAWeight()}, folder / "pytorch_model.bin")
    with pytest.raises(ValueError, match="pytorch_model.bin could not be read as plain weights"):
        load_gpt2(folder)


def test_missing_config_json_is_named(folder):
    (folder / "config.json").unlink()
    with pytest.raises(ValueError, match=r"config.json is missing: a GPT-2 folder holds config.json"):
        load_gpt2(folder)


def test_broken_config_json_is_named(folder):
    (folder / "config.json").write_text("{n_embd: 32", encoding="utf-8")
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        load_gpt2(folder)


def test_missing_weights_are_named(folder):
    (folder / "model.safetensors").unlink()
    with pytest.raises(
        ValueError, match=r"No weights in .*: expected model.safetensors \(preferred\) or pytorch_model.bin"
    ):
        load_gpt2(folder)


def test_a_damaged_safetensors_file_is_named(folder):
    (folder / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(ValueError, match="model.safetensors is not a safetensors file"):
        load_gpt2(folder)


def test_a_wrong_shaped_weight_is_named_with_both_shapes(folder, reference):
    from safetensors.torch import save_file

    state = {name: value.clone() for name, value in reference.state_dict().items() if name != "lm_head.weight"}
    state["transformer.h.0.attn.c_attn.weight"] = torch.zeros(32, 90)
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(ValueError) as error:
        load_gpt2(folder)
    message = str(error.value)
    assert "model.safetensors: the weight 'h.0.attn.c_attn.weight' has shape (32, 90)" in message
    assert "expects (32, 96)" in message


@needs_gpt2_tokenizer
def test_missing_tokenizer_files_are_named(folder):
    (folder / "merges.txt").unlink()
    with pytest.raises(ValueError, match="merges.txt is missing"):
        load_gpt2(folder)


@needs_gpt2_tokenizer
def test_a_tokenizer_larger_than_the_model_is_refused(folder, reference):
    from safetensors.torch import save_file

    values = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**values, "vocab_size": 258}))
    state = {name: value.clone() for name, value in reference.state_dict().items() if name != "lm_head.weight"}
    state["transformer.wte.weight"] = state["transformer.wte.weight"][:258].clone()
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="vocab.json has 260 tokens but config.json's vocab_size is only 258"):
        load_gpt2(folder)


def test_not_a_folder(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        load_gpt2(tmp_path / "nowhere")


@needs_gpt2_tokenizer
def test_the_demo_traces_a_local_gpt2(folder, capsys):
    from core.__main__ import main

    main(["--gpt2", str(folder), "--prompt", " the the"])
    out = capsys.readouterr().out
    assert f"GPT-2 from {folder}" in out
    assert "Tokens (2):" in out and re.search(r"id\s+258\s+'␣the'", out)
    assert re.search(r"^  logits\s+\(1, 2, 260\)$", out, re.MULTILINE)


def test_weights_bigger_than_this_computer_can_hold_are_refused_before_reading(folder):
    from core.model.footprint import available_memory_bytes

    memory = available_memory_bytes()
    if memory is None:
        pytest.skip("this system does not report its memory")
    weights = folder / "model.safetensors"
    with open(weights, "r+b") as file:
        file.truncate(memory)  # sparse: claims the whole memory (twice that to load), writes nothing
    with pytest.raises(ValueError, match=r"needs about [\d.]+ GB of memory"):
        load_gpt2(folder)
