"""Starting the app: `--checkpoint`, `--gpt2` and `--dark` open what they name, and a missing or broken
default model gives way to an untrained one with a sentence saying why (the window still opens)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import QApplication

import app.main
import app.state.model_in_use
from app.main import main
from app.state.model_in_use import default_model
from app.settings import AppSettings
from app.theme import apply_theme
from app.window import MainWindow
from core.files.checkpoint import load_checkpoint, save_checkpoint
from core.files.shipped_models import DEFAULT_MODEL_FOLDER
from hostile_files import tiny_model, write_gpt2_folder

WAIT_MS = 20_000


@pytest.fixture
def start_app(tmp_path, monkeypatch, qapp):
    """start_app(*options): run `attention-lab OPTIONS --screenshot` in this process; returns (exit code,
    what the window held when it was up: session, prompt, dark, palette lightness, recent items)."""
    seen = {}

    def look(window, args) -> bool:  # a start-up step of our own, run first once the window is up
        seen.update(
            session=window.controller.session,
            prompt=window.controller.prompt,
            dark=window.dark,
            lightness=QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness(),
            recent=window.settings.recent_items(),
        )
        return True

    monkeypatch.setattr(app.main, "startup_steps", [look, *app.main.startup_steps])

    def start(*options):
        code = main([*options, "--screenshot", str(tmp_path / "shot.png"), "--settings", str(tmp_path / "s.ini")])
        return code, seen

    yield start
    apply_theme(QApplication.instance(), False)  # the theme is the whole application's: leave it light


def assert_same_weights(model, expected: dict) -> None:
    weights = model.state_dict()
    assert set(weights) == set(expected)
    for name, tensor in weights.items():
        assert torch.equal(tensor, expected[name]), name


# -- options --------------------------------------------------------------------------------------------
def test_checkpoint_option_opens_that_checkpoint(tmp_path, start_app, session_factory):
    saved = session_factory(n_layers=3, n_heads=4, seed=11)
    folder = save_checkpoint(tmp_path / "my-model", saved.model, saved.tokenizer, step=42)

    code, seen = start_app("--checkpoint", str(folder), "--prompt", "abc")

    assert code == 0
    session = seen["session"]
    assert session.config == saved.config and session.step == 42 and session.trained
    assert_same_weights(session.model, saved.model.state_dict())
    assert seen["prompt"] == "abc"
    assert seen["recent"][0].kind == "checkpoint" and seen["recent"][0].path == str(folder)
    assert QImage(str(tmp_path / "shot.png")).text("Model") == f"Attention Lab — {session.describe()}"


def test_gpt2_option_opens_that_gpt2_folder(tmp_path, start_app):
    folder = write_gpt2_folder(tmp_path / "gpt2")
    written = tiny_model(vocab_size=260)  # the model write_gpt2_folder wrote, in Hugging Face's layout

    code, seen = start_app("--gpt2", str(folder), "--prompt", " the the")

    assert code == 0
    session = seen["session"]
    assert (session.config.n_layers, session.config.d_model, session.config.vocab_size) == (1, 8, 260)
    assert session.source == "GPT-2 “gpt2”"
    assert_same_weights(session.model, written.state_dict())
    assert session.tokenizer.encode(" the the") == [258, 258]  # GPT-2's own merges: ' the' is one token
    assert seen["recent"][0].kind == "gpt2" and seen["recent"][0].path == str(folder)


def test_dark_option_starts_dark_and_is_remembered(tmp_path, start_app, session_factory):
    folder = save_checkpoint(tmp_path / "small", session_factory().model, session_factory().tokenizer)

    code, seen = start_app("--checkpoint", str(folder), "--dark")

    assert code == 0
    assert seen["dark"] is True and seen["lightness"] < 80
    assert AppSettings(tmp_path / "s.ini").dark_theme is True  # the next start is dark too
    pixels = QImage(str(tmp_path / "shot.png")).convertToFormat(QImage.Format.Format_Grayscale8)
    assert np.frombuffer(pixels.constBits(), np.uint8).mean() < 100  # the picture is of a dark window


def test_without_dark_the_stored_light_theme_stays(tmp_path, start_app, session_factory):
    folder = save_checkpoint(tmp_path / "small", session_factory().model, session_factory().tokenizer)

    code, seen = start_app("--checkpoint", str(folder))

    assert code == 0 and seen["dark"] is False and seen["lightness"] > 200


# -- the shipped default model, missing or broken ------------------------------------------------------
def _truncate_weights(folder):
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])


def _poison_weights(folder):  # the last bytes of the weights become 0xff: NaN floats
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-400:] = b"\xff" * 400
    weights.write_bytes(bytes(data))


DAMAGES = {
    "weights cut short": (_truncate_weights, "truncated"),
    "weights deleted": (lambda folder: (folder / "model.safetensors").unlink(), "no model.safetensors"),
    "meta.json garbled": (
        lambda folder: (folder / "meta.json").write_text("{not json", encoding="utf-8"),
        "meta.json is not valid JSON",
    ),
    "meta.json deleted": (lambda folder: (folder / "meta.json").unlink(), "it has no meta.json"),
    "weights that are NaN": (_poison_weights, "NaN"),
}


@pytest.fixture
def shipped_copy(tmp_path):
    """A copy of the shipped default model, ours to damage."""
    return shutil.copytree(DEFAULT_MODEL_FOLDER, tmp_path / "default")


def test_an_intact_copy_of_the_default_model_loads_as_the_default_model(shipped_copy):
    session, notice = default_model(shipped_copy)
    assert notice == "" and session.trained and session.source == "default model"
    assert_same_weights(session.model, load_checkpoint(DEFAULT_MODEL_FOLDER).model.state_dict())


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_broken_default_model_gives_way_to_an_untrained_one_saying_why(shipped_copy, damage):
    break_it, reason = DAMAGES[damage]
    break_it(shipped_copy)
    session, notice = default_model(shipped_copy)
    assert not session.trained and session.tokenizer.kind == "char"
    assert notice.startswith("The default model could not be loaded (")
    assert reason in notice and notice.endswith("showing an untrained model instead.")


@pytest.mark.parametrize("missing", ["no folder", "an empty folder"])
def test_a_missing_default_model_gives_way_to_an_untrained_one(tmp_path, missing):
    folder = tmp_path / "default"
    if missing == "an empty folder":
        folder.mkdir()
    session, notice = default_model(folder)
    assert not session.trained
    assert notice == "No pretrained model is installed yet; showing an UNTRAINED model (random weights)."


def test_the_window_opens_on_the_untrained_model_when_the_default_one_is_broken(
    qtbot, tmp_path, shipped_copy, monkeypatch
):
    _truncate_weights(shipped_copy)
    monkeypatch.setattr(app.state.model_in_use, "DEFAULT_MODEL_FOLDER", shipped_copy)
    window = MainWindow(settings=AppSettings(tmp_path / "s.ini"), prompt="the cat", remember_layout=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.snapshot is not None and not window.controller.busy, timeout=WAIT_MS)
    assert not window.controller.session.trained
    assert window.snapshot.n_tokens == len("the cat")  # the untrained model reads characters, and draws
    message = window.statusBar().currentMessage()
    assert message.startswith("The default model could not be loaded (") and "truncated" in message

    shutil.copy(DEFAULT_MODEL_FOLDER / "model.safetensors", shipped_copy)  # mended: Reload finds it whole
    window.statusBar().clearMessage()
    window.models.load_default_model()
    assert window.controller.session.trained and window.controller.session.source == "default model"
    assert window.statusBar().currentMessage() == ""
    window.close()
