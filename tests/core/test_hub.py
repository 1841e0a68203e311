"""Models from the Hugging Face Hub, for real: a temporary cache (HF_HOME in tmp_path) and a loopback Hub
(tests/hub_server.py) that serves a tiny GPT-2 saved by transformers. Nothing here reaches the internet."""

from __future__ import annotations

import socket

import pytest
import torch

from core.files import hub
from core.files.gpt2 import load_gpt2
from hub_server import LoopbackHub, use_hub

transformers = pytest.importorskip("transformers")

MODEL_ID = "tiny-lab/gpt2-tiny"
VOCAB = 260  # 256 byte tokens, 3 merges, <|endoftext|>
HELD_BYTES = 50_000  # a cancelled or lost download stops this far into the weights


@pytest.fixture(scope="module")
def reference():
    config = transformers.GPT2Config(
        n_layer=2, n_head=2, n_embd=32, vocab_size=VOCAB, n_positions=16, bos_token_id=VOCAB - 1, eos_token_id=VOCAB - 1
    )
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.3)
    return model


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory, reference):
    """What the Hub repository holds: transformers' own files (generation_config.json too) and a tokenizer."""
    from hostile_files import write_gpt2_folder

    folder = tmp_path_factory.mktemp("repo")
    reference.save_pretrained(folder, safe_serialization=True)
    tokenizer_source = write_gpt2_folder(tmp_path_factory.mktemp("tokenizer"))
    for name in ("vocab.json", "merges.txt"):
        (folder / name).write_bytes((tokenizer_source / name).read_bytes())
    (folder / "README.md").write_text("not needed to open the model", encoding="utf-8")
    return folder


@pytest.fixture
def loopback(model_folder, tmp_path, monkeypatch):
    """A fresh cache and a loopback Hub holding the model; the environment points at both."""
    with LoopbackHub() as server:
        server.add_model(MODEL_ID, model_folder)
        use_hub(monkeypatch, server, tmp_path / "hf-home")
        yield server


def weights_size(model_folder) -> int:
    return (model_folder / "model.safetensors").stat().st_size


def needed_size(model_folder) -> int:
    return sum(
        (model_folder / name).stat().st_size
        for name in ("config.json", "vocab.json", "merges.txt", "model.safetensors")
    )


def same_logits(model, reference) -> None:
    ids = torch.randint(0, VOCAB, (1, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(ids).logits
        ours, _ = model(ids)
    assert expected.abs().max() > 1.0
    torch.testing.assert_close(ours, expected, atol=1e-4, rtol=1e-4)


# -- choosing files ------------------------------------------------------------------------------
def test_only_the_files_a_model_needs_are_fetched_weights_last():
    everything = [
        "config.json",
        "model.safetensors",
        "pytorch_model.bin",
        "tf_model.h5",
        "onnx/decoder.onnx",
        "vocab.json",
        "merges.txt",
        "tokenizer.json",
        "README.md",
        "generation_config.json",
    ]
    assert hub.files_to_fetch("gpt2", everything) == [
        "config.json",
        "tokenizer.json",
        "vocab.json",
        "merges.txt",
        "model.safetensors",
    ]
    assert hub.files_to_fetch("old", ["config.json", "pytorch_model.bin", "vocab.json"])[-1] == "pytorch_model.bin"
    sharded = [
        "config.json",
        "tokenizer.json",
        "model.safetensors.index.json",
        "model-00002-of-00002.safetensors",
        "model-00001-of-00002.safetensors",
        "pytorch_model.bin",
    ]
    assert hub.files_to_fetch("big", sharded)[-3:] == [
        "model.safetensors.index.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ]
    with pytest.raises(ValueError, match="no model.safetensors or pytorch_model.bin"):
        hub.files_to_fetch("weights/none", ["config.json", "tf_model.h5"])


# -- downloading ---------------------------------------------------------------------------------
def test_the_size_is_asked_of_the_hub_before_anything_is_fetched(loopback, model_folder):
    assert hub.download_size(MODEL_ID) == needed_size(model_folder)
    assert not any(method == "GET" and "/resolve/" in path for method, path, _ in loopback.requests)
    assert not (hub.cache_folder()).exists() or not any(hub.cache_folder().rglob("*.safetensors"))


def test_a_download_reports_progress_up_to_the_total_and_opens_the_saved_model(loopback, model_folder, reference):
    steps = []
    folder = hub.download(MODEL_ID, on_progress=lambda done, total: steps.append((done, total)))
    total = needed_size(model_folder)
    assert steps[-1] == (total, total)
    assert all(total_seen == total for _, total_seen in steps)
    assert [done for done, _ in steps] == sorted(done for done, _ in steps)
    assert (
        folder == hub.cached_folder(MODEL_ID)
        and folder.parent.parent == hub.cache_folder() / "models--tiny-lab--gpt2-tiny"
    )
    assert not (folder / "README.md").exists() and not (folder / "generation_config.json").exists()
    model, tokenizer, opened = hub.open_model(MODEL_ID)
    assert opened == folder
    same_logits(model, reference)
    assert tokenizer.encode(" the the") == [258, 258]


def test_a_model_we_fetched_is_found_by_huggingface_hub_and_transformers(loopback, reference):
    from huggingface_hub import hf_hub_download

    hub.download(MODEL_ID)
    cache = hub.cache_folder()
    config = hf_hub_download(MODEL_ID, "config.json", cache_dir=cache, local_files_only=True)
    assert config.startswith(str(cache))
    theirs = transformers.GPT2LMHeadModel.from_pretrained(MODEL_ID, cache_dir=cache, local_files_only=True)
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(theirs.state_dict()[name], value, atol=0, rtol=0)


def test_a_model_fetched_by_huggingface_hub_is_found_here(loopback, reference):
    from huggingface_hub import snapshot_download

    assert hub.cached_folder(MODEL_ID) is None
    snapshot_download(MODEL_ID, cache_dir=hub.cache_folder(), endpoint=loopback.address)
    folder = hub.cached_folder(MODEL_ID)
    assert folder is not None
    same_logits(hub.open_model(MODEL_ID)[0], reference)


def test_cancel_midway_leaves_no_model_and_the_next_download_continues(loopback, model_folder, reference):
    loopback.hold("model.safetensors", HELD_BYTES)
    small_files = needed_size(model_folder) - weights_size(model_folder)
    done = [0]

    def on_progress(bytes_done, total):
        done[0] = bytes_done

    with pytest.raises(hub.DownloadCancelled, match="cancelled after"):
        hub.download(MODEL_ID, on_progress, should_cancel=lambda: done[0] >= small_files + HELD_BYTES)
    loopback.release()
    assert hub.cached_folder(MODEL_ID) is None
    with pytest.raises(hub.NotCachedError, match="not in the Hugging Face cache"):
        hub.resolve(MODEL_ID)
    for snapshot in (hub.cache_folder() / "models--tiny-lab--gpt2-tiny" / "snapshots").iterdir():
        assert hub.missing_parts(snapshot)  # nothing there opens as a model
        with pytest.raises(ValueError, match="model.safetensors"):
            load_gpt2(snapshot)
    partial = list(hub.cache_folder().rglob("*.incomplete"))
    assert len(partial) == 1 and partial[0].stat().st_size == HELD_BYTES

    assert hub.plan_download(MODEL_ID).present_bytes == small_files + HELD_BYTES  # what the dialog says is kept
    steps = []
    folder = hub.download(MODEL_ID, on_progress=lambda d, t: steps.append(d))
    assert loopback.gets_of("model.safetensors") == [None, f"bytes={HELD_BYTES}-"]
    assert loopback.gets_of("config.json") == [None]  # the files fetched before the cancel are not fetched again
    assert steps[-1] == needed_size(model_folder)
    assert not list(hub.cache_folder().rglob("*.incomplete"))
    same_logits(hub.open_model(str(folder))[0], reference)


def test_a_connection_lost_midway_is_a_sentence_and_the_next_download_continues(loopback, reference):
    loopback.cut("model.safetensors", HELD_BYTES)
    with pytest.raises(ValueError, match="stopped .*choose Download again to continue"):
        hub.download(MODEL_ID)
    assert hub.cached_folder(MODEL_ID) is None
    folder = hub.download(MODEL_ID)
    assert loopback.gets_of("model.safetensors")[-1] == f"bytes={HELD_BYTES}-"
    same_logits(hub.open_model(str(folder))[0], reference)


def test_a_disk_without_room_is_a_sentence_before_anything_is_fetched(loopback, monkeypatch):
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(hub.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 2**20, 2**20))
    with pytest.raises(ValueError, match="free some space"):
        hub.download(MODEL_ID)
    assert not any(method == "GET" and "/resolve/" in path for method, path, _ in loopback.requests)


def test_an_unknown_model_is_named(loopback):
    with pytest.raises(ValueError, match="no model called nobody/nothing on the Hugging Face Hub"):
        hub.download_size("nobody/nothing")


# -- offline ------------------------------------------------------------------------------------
def test_offline_a_cached_model_opens_without_the_network(loopback, monkeypatch, reference):
    hub.download(MODEL_ID)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    asked = len(loopback.requests)
    assert hub.resolve(MODEL_ID) == hub.cached_folder(MODEL_ID)
    same_logits(hub.open_model(MODEL_ID)[0], reference)
    assert hub.download(MODEL_ID) == hub.cached_folder(MODEL_ID)
    assert len(loopback.requests) == asked


def test_offline_a_model_not_cached_gets_a_sentence(loopback, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for attempt in (lambda: hub.resolve(MODEL_ID), lambda: hub.download(MODEL_ID), lambda: hub.download_size(MODEL_ID)):
        with pytest.raises(
            hub.NotCachedError,
            match="is not in the Hugging Face cache and this computer is offline; connect and choose Download",
        ):
            attempt()
    assert loopback.requests == []


def test_without_a_network_a_model_not_cached_gets_the_offline_sentence(loopback, monkeypatch):
    with socket.socket() as unused:  # a port nobody listens on: the connection is refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(hub.NotCachedError, match="this computer is offline"):
        hub.download(MODEL_ID)


# -- names -------------------------------------------------------------------------------------
def test_resolve_takes_a_folder_or_a_hub_id(tmp_path, loopback):
    assert hub.resolve(str(tmp_path)) == tmp_path
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        hub.resolve(str(tmp_path / "file.txt"))
    with pytest.raises(ValueError, match="neither a folder on this computer nor a Hugging Face model id"):
        hub.resolve("/nonexistent/model")
    with pytest.raises(hub.NotCachedError, match="nonsense is not in the Hugging Face cache"):
        hub.resolve("nonsense")


def test_the_cache_follows_hf_hub_cache_and_hf_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    assert hub.cache_folder() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hub.cache_folder() == tmp_path / "elsewhere"


# -- other families: fetched from the Hub and run by our own GPT ---------------------------------------
@pytest.mark.parametrize("family", ["llama", "gpt_neox"])
def test_a_model_of_another_family_comes_from_the_hub_and_gives_transformers_logits(family, tmp_path, monkeypatch):
    from pretrained_helpers import save_family

    reference, tokenizer = save_family(family, tmp_path / "repo")
    with LoopbackHub() as server:
        server.add_model(f"tiny-lab/{family}", tmp_path / "repo")
        use_hub(monkeypatch, server, tmp_path / "hf-home")
        folder = hub.download(f"tiny-lab/{family}")
    assert sorted(path.name for path in folder.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    model, ours, _ = hub.open_model(f"tiny-lab/{family}")
    text = "the cat sat on the mat"
    assert ours.encode(text) == tokenizer.encode(text).ids
    ids = torch.tensor([tokenizer.encode(text).ids])
    with torch.no_grad():
        expected = reference(ids).logits
        logits, _ = model(ids)
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=1e-4)
