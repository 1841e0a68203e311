"""Hostile and broken files opened from the window: a message where the user is looking, no code run,
and the model, prompt and selection in use left exactly as they were.

Entry points: ModelOpener.open_checkpoint, ModelOpener.open_gpt2_folder, the classroom's try_open_class_file
(File ▸ Open session), and the training studio's corpus file and resume folder. The damaged files are made
by tests/hostile_files.py, the same ones tests/core/test_hostile_files.py checks without a window.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile

import pytest
import torch
from PySide6.QtWidgets import QMessageBox

from hostile_files import (
    MARKER_NAME,
    break_zip_member,
    code_pickle,
    flip_member_byte,
    inflate_member,
    put_in_place,
    tensor_file_breakages,
    write_checkpoint,
    write_gpt2_folder,
    write_session,
)
from hostile_round_two import doubling_merges
from lesson_fixtures import PROMPT, classroom, shown  # noqa: F401  (fixtures)

WAIT_MS = 20_000


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / MARKER_NAME
    yield path
    assert not path.exists(), "a pickle was unpickled: code from the file ran"


@pytest.fixture
def in_use(window, shown):
    """What the window shows before the bad file: checked again after it (see `unchanged`)."""
    session = window.controller.session
    return {
        "session": session,
        "weights": session.model.transformer.wte.weight.detach().clone(),
        "snapshot": window.snapshot,
        "prompt": window.controller.prompt,
        "selection": (window.selection.layer, window.selection.head),
    }


def unchanged(window, in_use) -> None:
    session = window.controller.session
    assert session is in_use["session"]
    assert torch.equal(session.model.transformer.wte.weight, in_use["weights"])
    assert window.snapshot is in_use["snapshot"]
    assert window.controller.prompt == in_use["prompt"] == PROMPT
    assert (window.selection.layer, window.selection.head) == in_use["selection"]


def error_shown(window, title: str, words) -> str:
    """The error box is open with a message holding `words`, and the status bar says the same."""
    box = window.findChild(QMessageBox, "errorBox")
    assert box is not None and box.isVisible()
    text = box.text()
    assert box.windowTitle() == title
    missing = [word for word in words if word.lower() not in text.lower()]
    assert not missing, f"{missing} not in {text!r}"
    assert window.statusBar().currentMessage().startswith(title)
    box.close()
    return text


# -- checkpoint folders (File ▸ Open checkpoint) --------------------------------------------------
def damage_tensor_file(name, breakage):
    def damage(folder, marker):
        path = folder / name
        path.write_bytes(tensor_file_breakages(marker)[breakage][0](path.read_bytes()))

    return damage


def edit_meta(change):
    def damage(folder, marker):
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        change(meta)
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")

    return damage


def replace_file(name, contents):
    def damage(folder, marker):
        (folder / name).write_bytes(contents(marker))

    return damage


def put_instead(name, what):
    return lambda folder, marker: put_in_place(folder / name, what)


CHECKPOINT_CASES = {
    "pickle-as-model.safetensors": (damage_tensor_file("model.safetensors", "pickle"), ("model.safetensors",)),
    "torch-pickle-as-model.safetensors": (
        damage_tensor_file("model.safetensors", "torch-pickle"),
        ("model.safetensors",),
    ),
    "pickle-as-optimizer.safetensors": (
        damage_tensor_file("optimizer.safetensors", "pickle"),
        ("optimizer.safetensors",),
    ),
    "pickle-as-meta.json": (replace_file("meta.json", lambda m: code_pickle(m, "plain")), ("meta.json", "JSON")),
    "truncated-weights": (damage_tensor_file("model.safetensors", "cut-in-data"), ("model.safetensors", "truncated")),
    "header-claims-more-data": (damage_tensor_file("model.safetensors", "claims-more-data"), ("truncated",)),
    "header-length-2**62": (damage_tensor_file("model.safetensors", "length-2**62"), ("not a safetensors",)),
    "header-a-list": (damage_tensor_file("model.safetensors", "header-a-list"), ("not a safetensors",)),
    "shape-bool": (damage_tensor_file("model.safetensors", "shape-bool"), ("damaged",)),
    "newer-format": (edit_meta(lambda m: m.update(format_version=99)), ("newer", "update")),
    "step-a-string": (edit_meta(lambda m: m.update(step="3")), ("step",)),
    "layer-norm-eps-nan": (
        edit_meta(lambda m: m["model_config"].update(layer_norm_eps=float("nan"))),
        ("layer_norm_eps",),
    ),
    "meta.json-0-bytes": (replace_file("meta.json", lambda m: b""), ("meta.json",)),
    "model.safetensors-0-bytes": (replace_file("model.safetensors", lambda m: b""), ("model.safetensors", "empty")),
    "meta.json-nested-too-deep": (replace_file("meta.json", lambda m: b"[" * 100_000 + b"]" * 100_000), ("meta.json",)),
    "folder-as-model.safetensors": (put_instead("model.safetensors", "folder"), ("model.safetensors", "is a folder")),
    "meta.json-a-link-loop": (put_instead("meta.json", "symlink-loop"), ("meta.json", "link")),
    "nan-in-a-bias": (
        lambda folder, marker: nan_in(folder / "model.safetensors", "transformer.h.0.attn.c_attn.bias"),
        ("model.safetensors", "c_attn.bias", "NaN"),
    ),
    "a-billion-layers": (edit_meta(lambda m: m["model_config"].update(n_layers=10**9)), ("checkpoint", "layers")),
    "merges-doubling-40": (
        edit_meta(lambda m: m.update(tokenizer={"type": "bpe", "merges": doubling_merges(40)})),
        ("meta.json", "bytes"),
    ),
}


def nan_in(path, name):
    """One value of the tensor `name` in a safetensors file becomes NaN (the save id is kept)."""
    from safetensors.torch import load_file, save_file

    from hostile_round_two import _metadata_of

    metadata, tensors = _metadata_of(path), load_file(str(path))
    tensors[name][0] = float("nan")
    save_file(tensors, str(path), metadata=metadata)


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp("good") / "checkpoint")


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
def test_a_hostile_checkpoint_leaves_the_model_in_use(window, in_use, good_checkpoint, tmp_path, marker, case):
    folder = shutil.copytree(good_checkpoint, tmp_path / "checkpoint")
    damage, words = CHECKPOINT_CASES[case]
    damage(folder, marker)
    assert window.models.open_checkpoint(folder) is False
    text = error_shown(window, "Could not open the checkpoint", words)
    assert "previous model is still shown" in text
    unchanged(window, in_use)


def test_the_good_checkpoint_does_open(window, in_use, good_checkpoint, tmp_path):
    """The control: the undamaged file replaces the model (so the refusals above mean something)."""
    folder = shutil.copytree(good_checkpoint, tmp_path / "checkpoint")
    assert window.models.open_checkpoint(folder) is True
    assert window.controller.session is not in_use["session"]


# -- GPT-2 folders (File ▸ Open GPT-2 folder) ---------------------------------------------------------
def pytorch_bin_pickle(flavour):
    def damage(folder, marker):
        (folder / "model.safetensors").unlink()
        (folder / "pytorch_model.bin").write_bytes(code_pickle(marker, flavour))

    return damage


def edit_json(name, **changes):
    """The JSON object in the folder's file `name` updated with `changes`."""

    def damage(folder, marker):
        values = json.loads((folder / name).read_text(encoding="utf-8"))
        values.update(changes)
        (folder / name).write_text(json.dumps(values), encoding="utf-8")

    return damage


def edit_config(**changes):
    return edit_json("config.json", **changes)


GPT2_CASES = {
    "pickle-as-model.safetensors": (damage_tensor_file("model.safetensors", "pickle"), ("model.safetensors",)),
    "truncated-model.safetensors": (damage_tensor_file("model.safetensors", "cut-in-data"), ("model.safetensors",)),
    "pickle-as-pytorch_model.bin": (pytorch_bin_pickle("plain"), ("pytorch_model.bin", "could not be read")),
    "torch-pickle-as-pytorch_model.bin": (pytorch_bin_pickle("torch"), ("pytorch_model.bin", "could not be read")),
    "config.json-nested-too-deep": (
        replace_file("config.json", lambda m: b"[" * 100_000 + b"]" * 100_000),
        ("config.json", "not valid JSON"),
    ),
    "epsilon-a-list": (edit_config(layer_norm_epsilon=[1e-5]), ("config.json", "layer_norm_epsilon")),
    "n-layer-bool": (edit_config(n_layer=True), ("config.json", "n_layers")),
    "pickle-as-vocab.json": (replace_file("vocab.json", lambda m: code_pickle(m, "plain")), ("vocab.json",)),
    "folder-as-model.safetensors": (put_instead("model.safetensors", "folder"), ("model.safetensors", "is a folder")),
    "config.json-0-bytes": (replace_file("config.json", lambda m: b""), ("config.json",)),
    "tiktoken-a-named-pipe": (
        lambda folder, marker: tiktoken_instead(folder, os.mkfifo),
        ("r50k_base.tiktoken", "not an ordinary file"),
    ),
    "tiktoken-a-link-to-dev-zero": (
        lambda folder, marker: tiktoken_instead(folder, lambda p: os.symlink("/dev/zero", p)),
        ("r50k_base.tiktoken", "not an ordinary file"),
    ),
    "vocab-id-2**32": (edit_json("vocab.json", **{"Ġthe": 2**32}), ("vocab.json", "beyond any vocabulary")),
    "n-embd-8192": (edit_config(n_embd=8192, n_layer=48), ("gpt2", "needs about")),
}


def tiktoken_instead(folder, make):
    """The tokenizer is a *.tiktoken file (vocab.json and merges.txt gone), made by `make(path)`."""
    (folder / "vocab.json").unlink()
    (folder / "merges.txt").unlink()
    make(folder / "r50k_base.tiktoken")


@pytest.fixture(scope="module")
def good_gpt2(tmp_path_factory):
    return write_gpt2_folder(tmp_path_factory.mktemp("good") / "gpt2")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")  # torch's note on the refused file
@pytest.mark.parametrize("case", GPT2_CASES)
def test_a_hostile_gpt2_folder_leaves_the_model_in_use(window, in_use, good_gpt2, tmp_path, marker, case):
    folder = shutil.copytree(good_gpt2, tmp_path / "gpt2")
    damage, words = GPT2_CASES[case]
    damage(folder, marker)
    assert window.models.open_gpt2_folder(folder) is False
    error_shown(window, "Could not open the GPT-2 folder", words)
    unchanged(window, in_use)


# -- session files (File ▸ Open session) ----------------------------------------------------------
def whole_file(contents):
    def damage(path, marker):
        path.write_bytes(contents(path.read_bytes(), marker))

    return damage


def member(name, contents):
    return lambda path, marker: break_zip_member(path, name, contents(marker))


def edit_description(**changes):
    def damage(path, marker):
        with zipfile.ZipFile(path) as archive:
            description = json.loads(archive.read("session.json"))
        description.update(changes)
        break_zip_member(path, "session.json", json.dumps(description).encode("utf-8"))

    return damage


def flip_a_byte_of(name):
    return whole_file(lambda data, marker: flip_member_byte(data, name))


def bomb(name):
    return lambda path, marker: inflate_member(path, name, 64 * 2**20)


SESSION_CASES = {
    "pickle-as-the-session": (whole_file(lambda data, m: code_pickle(m, "plain")), ("not a zip",)),
    "torch-pickle-as-the-session": (whole_file(lambda data, m: code_pickle(m, "torch")), ("session.json",)),
    "0-bytes": (whole_file(lambda data, m: b""), ("not a zip",)),
    "cut-in-half": (whole_file(lambda data, m: data[: len(data) // 2]), ("not a zip",)),
    "corrupt-weights-in-the-zip": (flip_a_byte_of("checkpoint/model.safetensors"), ("damaged",)),
    "pickle-as-model.safetensors": (
        member("checkpoint/model.safetensors", lambda m: code_pickle(m, "plain")),
        ("model.safetensors",),
    ),
    "torch-pickle-as-session.json": (member("session.json", lambda m: code_pickle(m, "torch")), ("session.json",)),
    "pickle-as-timeline": (
        member("timeline.safetensors", lambda m: code_pickle(m, "plain")),
        ("timeline.safetensors",),
    ),
    "zip-bomb-weights": (bomb("checkpoint/model.safetensors"), ("model.safetensors", "too large")),
    "newer-format": (edit_description(format_version=99), ("newer",)),
    "temperature-a-string": (edit_description(settings={"temperature": "hot"}), ("temperature",)),
    "layer-that-does-not-exist": (edit_description(layer=99), ("layer 99",)),
    "folder-in-place": (lambda path, marker: put_in_place(path, "folder"), ("not a file",)),
    "link-loop-in-place": (lambda path, marker: put_in_place(path, "symlink-loop"), ("not a file",)),
}


@pytest.fixture(scope="module")
def good_session(tmp_path_factory):
    return write_session(tmp_path_factory.mktemp("good") / "demo")


@pytest.mark.parametrize("case", SESSION_CASES)
def test_a_hostile_session_leaves_the_window_as_it_was(window, in_use, classroom, good_session, tmp_path, marker, case):
    path = shutil.copy(good_session, tmp_path / "demo.attnlab")
    damage, words = SESSION_CASES[case]
    damage(path, marker)
    position = classroom.pane.position_ids()
    assert classroom.try_open_class_file(path) is False
    error_shown(window, "Could not open the session", words)
    unchanged(window, in_use)
    assert classroom.pane.position_ids() == position


def test_memory_running_out_while_a_session_opens_is_reported_not_a_crash(
    window, in_use, classroom, good_session, tmp_path, monkeypatch
):
    """Every size is checked before it is allocated, but other programs can take the memory meanwhile."""
    import core.files.class_file

    def out_of_memory(path):
        raise MemoryError

    monkeypatch.setattr(core.files.class_file, "load_class_file", out_of_memory)
    assert classroom.try_open_class_file(shutil.copy(good_session, tmp_path / "demo.attnlab")) is False
    error_shown(window, "Could not open the session", ("ran out of memory", "previous model"))
    unchanged(window, in_use)


# -- the training studio: a corpus file, and a run folder to resume -------------------------------------
@pytest.fixture
def studio(window):
    return window.ensure_studio()


def corpus(kind):
    def make(path, marker):
        if kind in ("folder", "symlink-loop", "link-to-dev-zero"):
            put_in_place(path, kind)
        else:
            path.write_bytes(
                {
                    "pickle": code_pickle(marker, "plain"),
                    "torch-pickle": code_pickle(marker, "torch"),
                    "utf16": "hello there".encode("utf-16"),
                    "empty": b"",
                }[kind]
            )

    return make


CORPUS_CASES = {
    "pickle": (corpus("pickle"), ("corpus.txt", "not valid UTF-8")),
    "torch-pickle": (corpus("torch-pickle"), ("corpus.txt", "not valid UTF-8")),
    "utf16": (corpus("utf16"), ("UTF-16",)),
    "0-bytes": (corpus("empty"), ("empty",)),
    "folder": (corpus("folder"), ("corpus.txt", "is a folder")),
    "link-loop": (corpus("symlink-loop"), ("corpus.txt", "symbolic links")),
    "link-to-dev-zero": (corpus("link-to-dev-zero"), ("corpus.txt", "not an ordinary file")),
    "mostly-nul-bytes": (lambda path, marker: path.write_bytes(b"hello" + bytes(100_000)), ("corpus.txt", "NUL")),
}


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_a_hostile_corpus_file_is_refused_by_the_studio(qtbot, window, in_use, studio, tmp_path, marker, case):
    from core.training.run_setup import RunSetup

    make, words = CORPUS_CASES[case]
    path = tmp_path / "corpus.txt"
    make(path, marker)
    run_before = studio.run
    setup = RunSetup(
        corpus_kind="file", corpus_name=str(path), model_preset="nano", context_length=16, batch_size=8, max_steps=40
    )
    with qtbot.waitSignal(studio.setup_failed, timeout=WAIT_MS) as failed:
        studio.set_up(setup)
    missing = [word for word in words if word.lower() not in failed.args[0].lower()]
    assert not missing, f"{missing} not in {failed.args[0]!r}"
    assert studio.message.isVisible() and "Could not set up the run" in studio.message.text()
    assert studio.run is run_before
    unchanged(window, in_use)


@pytest.mark.parametrize("case", ["pickle-as-model.safetensors", "newer-format", "meta.json-a-link-loop"])
def test_a_hostile_run_folder_is_refused_by_resume(
    qtbot, window, in_use, studio, good_checkpoint, tmp_path, marker, case
):
    folder = shutil.copytree(good_checkpoint, tmp_path / "run")
    damage, words = CHECKPOINT_CASES[case]
    damage(folder, marker)
    run_before = studio.run
    with qtbot.waitSignal(studio.setup_failed, timeout=WAIT_MS) as failed:
        studio.resume(str(folder))
    assert studio.run is run_before and studio.message.isVisible()
    assert failed.args[0]
    unchanged(window, in_use)


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"batch_size": "32"}, ("studio.json", "batch_size must be a whole number", "'32'")),
        ({"learning_rate": None}, ("studio.json", "learning_rate must be a number")),
        ({"colour": "blue"}, ("studio.json", "Unknown run settings: colour")),
    ],
)
def test_a_run_folder_whose_studio_json_holds_malformed_settings_is_refused(
    qtbot, window, in_use, studio, good_checkpoint, tmp_path, settings, words
):
    """The checkpoint itself is good: only the settings in studio.json are wrong, and they are what is named."""
    folder = shutil.copytree(good_checkpoint, tmp_path / "run")
    (folder / "studio.json").write_text(json.dumps({"format": 1, "setup": settings, "step": 1}), encoding="utf-8")
    run_before = studio.run
    with qtbot.waitSignal(studio.setup_failed, timeout=WAIT_MS) as failed:
        studio.resume(str(folder))
    missing = [word for word in words if word not in failed.args[0]]
    assert not missing, f"{missing} not in {failed.args[0]!r}"
    assert studio.run is run_before and studio.message.isVisible()
    unchanged(window, in_use)
