"""Opening pretrained folders: every weight format, the checks made before anything is allocated, and
the sentences for folders that cannot be opened."""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")
sys.path.insert(0, str(Path(__file__).parent))

import core.model.footprint as footprint  # noqa: E402
from core.files.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from core.model.config import GPTConfig  # noqa: E402
from core.model.model import GPT  # noqa: E402
from core.files.pretrained import SUPPORTED_MODEL_TYPES, config_from_hf, load_pretrained  # noqa: E402
from core.files.pretrained.loader import pretrained_float32_bytes  # noqa: E402
from pretrained_helpers import byte_level_tokenizer, hf_reference, mixed_strings, save_family  # noqa: E402

IDS = torch.randint(0, 300, (1, 16), generator=torch.Generator().manual_seed(3))  # (B, T)


def _same_logits(model: GPT, reference) -> None:
    with torch.no_grad():
        expected = reference(IDS).logits
        logits, _ = model(IDS)
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=1e-4)


@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("llama") / "model"
    reference, _ = save_family("llama", folder)
    return folder, reference


def _copy(folder: Path, tmp_path: Path) -> Path:
    return shutil.copytree(folder, tmp_path / "copy")


def test_sharded_safetensors_open_through_their_index(tmp_path):
    tokenizer = byte_level_tokenizer()
    reference = hf_reference("qwen2", tokenizer.get_vocab_size())
    reference.save_pretrained(tmp_path, max_shard_size="40KB")
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    assert (tmp_path / "model.safetensors.index.json").is_file() and not (tmp_path / "model.safetensors").exists()
    assert len(list(tmp_path.glob("model-*.safetensors"))) > 1
    model, _ = load_pretrained(tmp_path)
    _same_logits(model, reference)


def test_pytorch_model_bin_opens_memory_mapped(tmp_path):
    tokenizer = byte_level_tokenizer()
    reference = hf_reference("gpt_neox", tokenizer.get_vocab_size())
    torch.save(reference.state_dict(), tmp_path / "pytorch_model.bin")
    reference.config.save_pretrained(tmp_path)
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    model, _ = load_pretrained(tmp_path)
    _same_logits(model, reference)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_weights_become_float32(tmp_path, dtype):
    tokenizer = byte_level_tokenizer()
    reference = hf_reference("llama", tokenizer.get_vocab_size())
    rounded = {name: value.to(dtype).float() for name, value in reference.state_dict().items()}
    reference.to(dtype).save_pretrained(tmp_path)
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    model, _ = load_pretrained(tmp_path)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    widened = hf_reference("llama", tokenizer.get_vocab_size())  # float32 RoPE tables, as ours
    widened.load_state_dict(rounded)
    _same_logits(model, widened)  # the same rounded weights, widened


def test_an_unsupported_architecture_names_the_supported_ones(llama_folder, tmp_path):
    folder = _copy(llama_folder[0], tmp_path)
    values = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**values, "model_type": "bert"}))
    with pytest.raises(ValueError) as error:
        load_pretrained(folder)
    message = str(error.value)
    assert "describes a 'bert' model, which this GPT cannot run" in message
    assert all(name in message for name in SUPPORTED_MODEL_TYPES)


def test_rope_scaling_is_refused_rather_than_run_wrongly():
    values = {
        "model_type": "llama",
        "vocab_size": 10,
        "max_position_embeddings": 8,
        "hidden_size": 8,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 16,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0},
    }
    with pytest.raises(ValueError, match="asks for RoPE scaling 'llama3'"):
        config_from_hf(values)


def test_a_qwen_sized_context_builds_nothing_of_its_square():
    config = config_from_hf(
        {
            "model_type": "qwen2",
            "vocab_size": 64,
            "max_position_embeddings": 32768,
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "intermediate_size": 128,
            "rope_theta": 1000000.0,
        }
    )
    assert config.context_length == 32768
    model = GPT(config)
    biggest = max(buffer.numel() for buffer in model.buffers())
    assert biggest <= 32768 * config.d_head  # RoPE's angles: linear in the context
    logits, _ = model(torch.zeros(1, 8, dtype=torch.long))
    assert logits.shape == (1, 8, 64)


def test_the_memory_check_comes_before_anything_is_allocated(llama_folder, monkeypatch):
    built = []
    monkeypatch.setattr(footprint, "available_memory_bytes", lambda: 1000)
    monkeypatch.setattr(GPT, "unfilled", classmethod(lambda cls, config: built.append(config)))
    with pytest.raises(ValueError, match=r"needs about [\d.]+ MB of memory; this machine has 0 MB free"):
        load_pretrained(llama_folder[0])
    assert built == []


def test_the_float32_size_is_counted_from_the_config(llama_folder):
    model, _ = load_pretrained(llama_folder[0])
    assert pretrained_float32_bytes(model.config) == 4 * model.num_params()


def test_a_tokenizer_with_more_ids_than_the_weights_is_refused(tmp_path):
    tokenizer = byte_level_tokenizer()
    reference = hf_reference("llama", tokenizer.get_vocab_size() - 20)
    reference.save_pretrained(tmp_path)
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    with pytest.raises(
        ValueError, match=r"tokenizer.json has ids up to \d+, but the weights have only \d+ token vectors"
    ):
        load_pretrained(tmp_path)


def test_weights_that_do_not_fit_the_config_are_named(llama_folder, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _copy(llama_folder[0], tmp_path)
    weights = load_file(str(folder / "model.safetensors"))
    del weights["model.layers.1.mlp.up_proj.weight"]
    weights["model.layers.2.mlp.up_proj.weight"] = torch.zeros(3)
    save_file(weights, str(folder / "model.safetensors"))
    with pytest.raises(ValueError) as error:
        load_pretrained(folder)
    assert "they lack 1 weight(s), e.g. model.layers.1.mlp.up_proj.weight" in str(error.value)
    assert "they have 1 this model does not, e.g. model.layers.2.mlp.up_proj.weight" in str(error.value)


def test_a_wrong_shaped_weight_is_named_with_both_shapes(llama_folder, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _copy(llama_folder[0], tmp_path)
    weights = load_file(str(folder / "model.safetensors"))
    weights["model.layers.0.self_attn.o_proj.weight"] = torch.zeros(32, 30)
    save_file(weights, str(folder / "model.safetensors"))
    with pytest.raises(
        ValueError,
        match=r"model.layers.0.self_attn.o_proj.weight \(32, 30\) cannot make this "
        r"model's transformer.h.0.attn.c_proj.weight \(32, 32\)",
    ):
        load_pretrained(folder)


@pytest.mark.parametrize(
    "damage, sentence",
    [
        (lambda f: (f / "config.json").unlink(), "config.json is missing"),
        (lambda f: (f / "config.json").write_text("{oops"), "config.json is not valid JSON"),
        (lambda f: (f / "model.safetensors").unlink(), "No weights in"),
        (
            lambda f: (f / "model.safetensors").write_bytes(b"\x10" + bytes(7) + b"not json at all!"),
            "could not be read as safetensors",
        ),
        (
            lambda f: os.truncate(f / "model.safetensors", (f / "model.safetensors").stat().st_size // 2),
            "could not be read as safetensors",
        ),
        (lambda f: (f / "tokenizer.json").unlink(), "No tokenizer in"),
        (lambda f: (f / "tokenizer.json").write_text('{"model": 3}'), "could not be read as a Hugging Face tokenizer"),
    ],
)
def test_a_damaged_folder_is_one_sentence(llama_folder, tmp_path, damage, sentence):
    folder = _copy(llama_folder[0], tmp_path)
    damage(folder)
    with pytest.raises(ValueError, match=sentence):
        load_pretrained(folder)


def test_a_shard_index_may_not_point_outside_its_folder(llama_folder, tmp_path):
    folder = _copy(llama_folder[0], tmp_path)
    (folder / "model.safetensors").rename(tmp_path / "elsewhere.safetensors")
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"model.norm.weight": "../elsewhere.safetensors"}})
    )
    with pytest.raises(ValueError, match="which is not a file beside it"):
        load_pretrained(folder)


def test_not_a_folder(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        load_pretrained(tmp_path / "nowhere")


def test_a_loaded_model_saves_as_our_checkpoint_and_reopens(llama_folder, tmp_path):
    model, tokenizer = load_pretrained(llama_folder[0])
    save_checkpoint(tmp_path / "ours", model, tokenizer)
    reopened = load_checkpoint(tmp_path / "ours")
    assert reopened.model.config == model.config
    assert reopened.tokenizer.kind == "hf_json"
    _same_logits(reopened.model, llama_folder[1])
    for text in mixed_strings(50):
        assert reopened.tokenizer.encode(text) == tokenizer.encode(text)


def test_configs_from_older_files_read_their_top_level_rope_keys():
    neox = config_from_hf(
        {
            "model_type": "gpt_neox",
            "vocab_size": 50,
            "max_position_embeddings": 16,
            "hidden_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 4,
            "intermediate_size": 64,
            "rotary_pct": 0.25,
            "rotary_emb_base": 10000,
            "hidden_act": "gelu",
            "use_parallel_residual": True,
        }
    )
    assert (neox.rope_fraction, neox.rotary_dims, neox.rope_theta) == (0.25, 2, 10000.0)
    assert isinstance(GPTConfig.from_dict(neox.to_dict()), GPTConfig)


def test_llama_attention_bias_covers_the_output_projection_too(tmp_path):
    import transformers as t

    tokenizer = byte_level_tokenizer()
    config = t.LlamaConfig(
        vocab_size=tokenizer.get_vocab_size(),
        max_position_embeddings=32,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=4,
        intermediate_size=64,
        attention_bias=True,
    )
    torch.manual_seed(0)
    reference = t.LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.normal_(0.0, 0.3)
    reference.save_pretrained(tmp_path)
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    model, _ = load_pretrained(tmp_path)
    assert (model.config.qkv_bias, model.config.attn_out_bias) == (True, True)
    _same_logits(model, reference)


def test_a_nan_weight_is_refused_naming_the_tensor(llama_folder, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _copy(llama_folder[0], tmp_path)
    tensors = load_file(str(folder / "model.safetensors"))
    name = next(name for name in tensors if name.endswith("input_layernorm.weight"))
    tensors[name][0] = float("nan")
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"copy: the weight '.*ln_1.weight' holds 1 NaN value"):
        load_pretrained(folder)
