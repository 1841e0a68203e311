"""Checkpoints: a faithful round trip, an exact resume, a save that survives a crash, and named errors."""

import json
import os
import pickle
import struct

import numpy as np
import pytest
import torch

import core.files.checkpoint as checkpoint_module
from core.files.checkpoint import CheckpointError, load_checkpoint, resume_trainer, save_checkpoint, save_trainer
from core.tokenizers import BPETokenizer
from training_helpers import TEXT, one_thread, tiny_dataset, tiny_model, tiny_tokenizer, tiny_trainer  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")
PROBE = torch.arange(12)[None, :] % 20


@pytest.fixture
def saved(tmp_path):
    """A checkpoint of a tiny run after 3 steps, with its optimizer state."""
    trainer = tiny_trainer(eval_interval=3)
    list(trainer.run(3))
    save_trainer(tmp_path / "run", trainer)
    return tmp_path / "run", trainer


def _edit_meta(folder, change):
    meta = json.loads((folder / "meta.json").read_text())
    change(meta)
    (folder / "meta.json").write_text(json.dumps(meta))


# -- round trip ---------------------------------------------------------------------------------------
def test_a_saved_model_loads_back_with_the_same_outputs_tokenizer_and_history(saved):
    folder, trainer = saved
    loaded = load_checkpoint(folder)
    assert torch.equal(loaded.model(PROBE)[0], trainer.model.eval()(PROBE)[0])
    assert loaded.model.config == trainer.model.config and not loaded.model.training
    assert loaded.tokenizer.encode(TEXT[:50]) == tiny_tokenizer().encode(TEXT[:50])
    assert loaded.train_config == trainer.config and loaded.step == 3
    assert loaded.losses["train"] == trainer.loss_history["train"] and len(loaded.losses["val"]) == 1
    assert sorted(os.listdir(folder)) == ["meta.json", "model.safetensors", "optimizer.safetensors"]


def test_tied_embeddings_are_stored_once(tmp_path):
    model = tiny_model()
    save_checkpoint(tmp_path, model, tiny_tokenizer())
    header = checkpoint_module.read_safetensors_header(tmp_path / "model.safetensors")
    assert "lm_head.weight" not in header and "transformer.wte.weight" in header
    stored = sum(np.prod(entry["shape"]) for entry in header.values())
    assert stored == model.num_params()
    loaded = load_checkpoint(tmp_path).model
    assert loaded.lm_head.weight is loaded.transformer.wte.weight  # still tied after loading


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"pos_encoding": "rope", "bias": False},
        {"tie_embeddings": False, "d_mlp": 48},
        # Llama/Qwen2-shaped: RMSNorm, SwiGLU, shared key/value heads, q/k/v biases only
        {"pos_encoding": "rope", "norm": "rmsnorm", "mlp": "swiglu", "n_kv_heads": 1, "bias": False, "qkv_bias": True},
        # GPT-Neo-shaped: no q/k/v bias, but an output-projection bias
        {"qkv_bias": False, "attention_windows": (None, 4)},
    ],
)
def test_the_shapes_expected_from_a_config_are_the_models(changes):
    model = tiny_model(**changes)
    stored = {n: tuple(t.shape) for n, t in model.state_dict().items()}
    if model.config.tie_embeddings:
        del stored["lm_head.weight"]
    assert checkpoint_module.expected_weight_shapes(model.config) == stored


def test_a_bpe_tokenizer_keeps_its_merges(tmp_path):
    tokenizer = BPETokenizer.train(TEXT, 280)
    torch.manual_seed(0)
    from core.model.config import preset
    from core.model.model import GPT

    save_checkpoint(tmp_path, GPT(preset("nano", vocab_size=280, context_length=16)), tokenizer)
    loaded = load_checkpoint(tmp_path).tokenizer
    assert loaded.to_json() == tokenizer.to_json()
    assert loaded.encode(TEXT[:200]) == tokenizer.encode(TEXT[:200])


def test_resuming_gives_exactly_the_run_that_never_stopped(tmp_path):
    straight = tiny_trainer(eval_interval=4)
    straight_losses = [r.loss for r in straight.run(9)]

    first = tiny_trainer(eval_interval=4)
    losses = [r.loss for r in first.run(5)]
    save_trainer(tmp_path, first)
    resumed = resume_trainer(load_checkpoint(tmp_path), tiny_dataset())
    losses += [r.loss for r in resumed.run(4)]

    np.testing.assert_allclose(losses, straight_losses, rtol=1e-6)
    for name, array in resumed.snapshot().tensors.items():
        np.testing.assert_allclose(array, straight.snapshot().tensors[name], rtol=1e-6, atol=1e-7)
    assert resumed.step_count == 9 and resumed.tokens_seen == straight.tokens_seen
    assert [p[0] for p in resumed.loss_history["val"]] == [4, 8]


def test_loading_never_unpickles(saved, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("something tried to unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    assert load_checkpoint(saved[0]).step == 3


# -- a crash while saving -----------------------------------------------------------------------------
def test_a_failure_while_writing_leaves_the_previous_checkpoint_intact(saved, monkeypatch):
    folder, trainer = saved
    list(trainer.run(2))

    def disk_full(file, data):
        file.write(data[: len(data) // 2])
        raise OSError("No space left on device")

    monkeypatch.setattr(checkpoint_module, "_write_all", disk_full)
    with pytest.raises(OSError):
        save_trainer(folder, trainer)
    assert sorted(os.listdir(folder)) == ["meta.json", "model.safetensors", "optimizer.safetensors"]  # no debris
    assert load_checkpoint(folder).step == 3


def test_a_crash_between_the_renames_still_loads_the_previous_checkpoint(saved, monkeypatch):
    folder, trainer = saved
    list(trainer.run(2))
    real_replace = os.replace

    def crash_before_meta(source, target):
        if str(target).endswith("meta.json"):
            raise KeyboardInterrupt  # killed after the new tensor files are in place, before the commit
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", crash_before_meta)
    with pytest.raises(KeyboardInterrupt):
        save_trainer(folder, trainer)
    monkeypatch.setattr(os, "replace", real_replace)
    loaded = load_checkpoint(folder)
    assert loaded.step == 3 and int(loaded.optimizer_state["trainer.step"]) == 3
    save_trainer(folder, trainer)  # and the next save tidies up
    assert load_checkpoint(folder).step == 5
    assert sorted(os.listdir(folder)) == ["meta.json", "model.safetensors", "optimizer.safetensors"]


# -- what is not a checkpoint -------------------------------------------------------------------------
def test_a_folder_that_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not a folder"):
        load_checkpoint(tmp_path / "missing")
    with pytest.raises(CheckpointError, match="no meta.json"):
        load_checkpoint(tmp_path)
    (tmp_path / "meta.json").write_text("{ this is not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path)
    (tmp_path / "meta.json").write_text(json.dumps({"name": "something else"}))
    with pytest.raises(CheckpointError, match="not an Attention Lab checkpoint"):
        load_checkpoint(tmp_path)


def test_a_truncated_weights_file_is_named(saved):
    folder, _ = saved
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[:-100])
    with pytest.raises(CheckpointError, match=r"model.safetensors is truncated.*describes [\d,]+ bytes"):
        load_checkpoint(folder)
    (folder / "model.safetensors").write_bytes(data[:5])
    with pytest.raises(CheckpointError, match="truncated or empty"):
        load_checkpoint(folder)


def test_a_weights_file_that_is_not_safetensors(saved):
    folder, _ = saved
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", 20) + b"certainly not json!!" + b"\0" * 64)
    with pytest.raises(CheckpointError, match="header is not JSON"):
        load_checkpoint(folder)


def test_a_config_that_does_not_match_the_weights_names_the_tensor_and_shapes(saved):
    folder, _ = saved
    _edit_meta(folder, lambda meta: meta["model_config"].update(d_model=64))
    with pytest.raises(CheckpointError, match=r"transformer.wte.weight has shape \(\d+, 32\).*needs \(\d+, 64\)"):
        load_checkpoint(folder)


def test_a_config_with_more_layers_than_the_weights(saved):
    folder, _ = saved
    _edit_meta(folder, lambda meta: meta["model_config"].update(n_layers=3))
    with pytest.raises(CheckpointError, match="has no tensor 'transformer.h.2"):
        load_checkpoint(folder)


def test_a_newer_format_asks_for_an_update(saved):
    folder, _ = saved
    _edit_meta(folder, lambda meta: meta.update(format_version=99))
    with pytest.raises(CheckpointError, match="format version 99.*newer.*Update Attention Lab"):
        load_checkpoint(folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(step="5"), "'step' must be a JSON whole number"),
        (lambda m: m["model_config"].update(d_model="32"), "'d_model' must be a JSON int"),
        (lambda m: m["model_config"].update(bias=1), "'bias' must be a JSON bool"),
        (lambda m: m["model_config"].update(colour="red"), "Unknown model settings: colour"),
        (lambda m: m["train_config"].update(learning_rate="fast"), "'learning_rate' must be a JSON float"),
        (lambda m: m.update(tokenizer={"type": "mystery"}), "tokenizer: Unknown tokenizer type"),
        (lambda m: m.update(losses={"train": [[1, "high"]]}), "'losses' must map"),
        (lambda m: m.update(model_config=[1, 2]), "'model_config' must be a JSON object"),
    ],
)
def test_wrong_json_types_are_named(saved, change, message):
    folder, _ = saved
    _edit_meta(folder, change)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(folder)


def test_optimizer_state_that_does_not_fit_the_model(saved):
    folder, trainer = saved
    state = trainer.training_state()
    state["adamw.exp_avg.transformer.wte.weight"] = torch.zeros(3, 3)
    save_checkpoint(folder, trainer.model, trainer.tokenizer, trainer.config, state, step=3)
    wrong_shape = r"optimizer.safetensors: AdamW's exp_avg for transformer.wte.weight has shape \(3, 3\)"
    with pytest.raises(CheckpointError, match=wrong_shape):
        load_checkpoint(folder)


def test_files_from_two_different_saves_are_not_mixed(saved, tmp_path):
    folder, trainer = saved
    other = tmp_path / "other"
    save_trainer(other, trainer)
    os.replace(other / "model.safetensors", folder / "model.safetensors")
    with pytest.raises(CheckpointError, match="not written by the same save"):
        load_checkpoint(folder)


def test_a_model_too_big_for_this_computer_is_refused_before_anything_is_built(saved, monkeypatch):
    """A hand-made checkpoint: a config of 77 billion parameters, a header that describes them, and a sparse
    file of the size the header claims (it takes no disk). Every check passes, so memory decides: a machine
    with 64 GB free, whatever this one has (~310 GB of float32 weights fit on none of that size)."""
    import core.model.footprint as footprint

    monkeypatch.setattr(footprint, "available_memory_bytes", lambda: 64 * 10**9)
    folder, _ = saved
    meta = json.loads((folder / "meta.json").read_text())
    meta["model_config"].update(n_layers=96, d_model=8192, n_heads=64, d_mlp=4 * 8192, context_length=2048)
    meta["files"] = ["model.safetensors"]
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "optimizer.safetensors").unlink(missing_ok=True)
    config = checkpoint_module.model_config_from_meta(meta)
    header, offset = {"__metadata__": {"save_id": meta["save_id"]}}, 0
    for name, shape in checkpoint_module.expected_weight_shapes(config).items():
        size = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    header_bytes = json.dumps(header).encode()
    with open(folder / "model.safetensors", "wb") as file:
        file.write(struct.pack("<Q", len(header_bytes)) + header_bytes)
        file.truncate(8 + len(header_bytes) + offset)  # sparse: hundreds of GB claimed, nothing written
    built = []
    monkeypatch.setattr(checkpoint_module, "GPT", lambda config: built.append(config))
    with pytest.raises(CheckpointError, match=r"needs about [\d.]+ GB of memory; this machine has 64.0 GB free"):
        load_checkpoint(folder)
    assert built == []  # refused before a single parameter was allocated
