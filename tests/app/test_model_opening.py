"""Opening models from the window, the Model zoo and the command line: loading off the GUI thread, the
previous model kept on failure, downloads from a loopback Hub (tests/hub_server.py) into a temporary
Hugging Face cache, and command-line failures told on the terminal with a non-zero exit status."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

from app.dialogs.model_zoo import PROGRESS_STEPS, ModelZooDialog
from app.settings import AppSettings, RecentItem
from core.files import hub
from core.files.zoo import ZOO
from hostile_files import write_gpt2_folder
from hub_server import LoopbackHub, use_hub

ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 30_000
SERVED_AS = "gpt2"  # the loopback Hub serves a tiny GPT-2 under the zoo's own id


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    return write_gpt2_folder(tmp_path_factory.mktemp("tiny") / "gpt2")


@pytest.fixture
def loopback(tiny_gpt2, tmp_path, monkeypatch):
    with LoopbackHub() as server:
        server.add_model(SERVED_AS, tiny_gpt2)
        use_hub(monkeypatch, server, tmp_path / "hf-home")
        yield server


def needed_size(folder: Path) -> int:
    return sum(
        (folder / name).stat().st_size for name in ("config.json", "vocab.json", "merges.txt", "model.safetensors")
    )


# -- the window: loading in the background --------------------------------------------------------
def test_the_window_stays_responsive_while_a_model_loads(qtbot, window, session_factory, wait_drawn, request):
    other = session_factory(n_layers=3, seed=5)
    gate = threading.Event()
    request.addfinalizer(gate.set)  # never leave the load waiting, even if an assertion fails

    def slow_load():
        gate.wait()  # the load is "reading files" until the test lets it finish
        return other

    assert window.models.load(slow_load, "Could not open", RecentItem("checkpoint", "slow"), "slow model", wait=False)
    assert window.models.loading and window.load_progress.isVisible()
    assert window.statusBar().currentMessage() == "Opening slow model…"
    snapshot = wait_drawn(lambda: window.prompt_view.set_text("abc"))  # the window still traces and draws
    assert snapshot.token_labels == ("a", "b", "c") and snapshot.config.n_layers == 2  # drawn by the old model
    assert window.models.open_checkpoint("elsewhere", wait=False) is False  # one load at a time
    assert "Still opening slow model" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.model_loaded, timeout=WAIT_MS):
        gate.set()
    assert window.controller.session is other and not window.models.loading
    assert not window.load_progress.isVisible()


def test_a_failed_load_keeps_the_previous_model_and_says_why(qtbot, window, session, loopback):
    with qtbot.waitSignal(window.load_failed, timeout=WAIT_MS) as failed:
        assert window.models.open_hub_model("nonsense", wait=False)
    assert "nonsense is not in the Hugging Face cache" in failed.args[0]
    assert window.controller.session is session
    box = window.findChild(QMessageBox, "errorBox")
    assert box.isVisible() and "previous model is still shown" in box.text()
    assert window.statusBar().currentMessage().startswith("Could not open the model: nonsense is not")
    box.close()


# -- the Model zoo ---------------------------------------------------------------------------------
def test_the_zoo_lists_the_models_with_their_cached_state(qtbot, loopback, tiny_gpt2):
    dialog = ModelZooDialog(AppSettings())
    qtbot.addWidget(dialog)
    assert [dialog.table.item(row, 0).text() for row in range(dialog.table.rowCount())] == [
        entry.model_id for entry in ZOO
    ]
    assert dialog.cached_state() == {entry.model_id: False for entry in ZOO}
    hub.download(SERVED_AS)  # fetched elsewhere (another program, the command line): the zoo sees it
    dialog.refresh()
    assert dialog.cached_state() == {entry.model_id: entry.model_id == SERVED_AS for entry in ZOO}
    row = [entry.model_id for entry in ZOO].index(SERVED_AS)
    assert dialog.table.item(row, 2).text() == "124.4M" and dialog.table.item(row, 3).text() == "475 MB"


def test_the_zoo_remembers_the_last_choice(qtbot, loopback):
    settings = AppSettings()
    first = ModelZooDialog(settings)
    qtbot.addWidget(first)
    first.select("EleutherAI/pythia-70m")
    second = ModelZooDialog(settings)
    qtbot.addWidget(second)
    assert second.selected_id() == "EleutherAI/pythia-70m"


def test_downloading_from_the_zoo_shows_the_size_fills_the_bar_and_opens_the_model(qtbot, window, loopback, tiny_gpt2):
    window.models.show_model_zoo()
    dialog = window.findChild(ModelZooDialog, "modelZooDialog")
    dialog.select(SERVED_AS)
    assert dialog.download_button.isEnabled() and not dialog.open_button.isEnabled()
    with qtbot.waitSignal(dialog.size_known, timeout=WAIT_MS) as sized:
        dialog.download_button.click()
    assert sized.args == [needed_size(tiny_gpt2)]
    assert dialog.start_button.isVisible() and "16.6 kB to download from http://127.0.0.1" in dialog.status.text()
    with qtbot.waitSignal(window.model_loaded, timeout=WAIT_MS):
        dialog.start_button.click()
    assert dialog.progress.value() == PROGRESS_STEPS
    assert dialog.cached_state()[SERVED_AS] and dialog.open_button.isEnabled()
    assert window.controller.session.source == "gpt2 (Hugging Face)"
    assert window.windowTitle() == "Attention Lab — gpt2 (Hugging Face)"
    assert window.settings.recent_items()[0] == RecentItem("hub", SERVED_AS)
    dialog.hide()


def test_a_cancelled_download_leaves_the_model_in_use_and_nothing_to_open(qtbot, window, session, loopback):
    loopback.hold("model.safetensors", 5_000)  # of its 13.5 kB
    window.models.show_model_zoo()
    dialog = window.findChild(ModelZooDialog, "modelZooDialog")
    dialog.select(SERVED_AS)
    with qtbot.waitSignal(dialog.size_known, timeout=WAIT_MS):
        dialog.ask_size()
    dialog.start_download()
    assert dialog.cancel_button.isVisible() and not dialog.table.isEnabled()
    qtbot.waitUntil(loopback.reached_hold.is_set, timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.download_failed, timeout=WAIT_MS) as failed:
        dialog.cancel_button.click()
        loopback.release()  # the next piece arrives, and the download stops there
    assert "cancelled after" in failed.args[0] and "cancelled after" in dialog.status.text()
    assert not dialog.cached_state()[SERVED_AS] and hub.cached_folder(SERVED_AS) is None
    assert window.controller.session is session
    dialog.hide()


def test_offline_the_zoo_says_the_size_is_unknown(qtbot, loopback, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dialog = ModelZooDialog(AppSettings())
    qtbot.addWidget(dialog)
    dialog.select(SERVED_AS)
    with qtbot.waitSignal(dialog.download_failed, timeout=WAIT_MS):
        dialog.ask_size()
    assert dialog.status.text().startswith("Size unknown offline.")
    assert "this computer is offline" in dialog.status.text() and not dialog.start_button.isVisible()
    assert loopback.requests == []


# -- exports name their model ------------------------------------------------------------------------
def test_a_picture_of_the_window_names_the_model_that_drew_it(window, session, tmp_path):
    assert window.save_picture(tmp_path / "shot.png")
    image = QImage(str(tmp_path / "shot.png"))
    assert image.text("Model") == f"Attention Lab — {session.describe()}"
    assert window.windowTitle() == "Attention Lab — test model"


# -- the command line ------------------------------------------------------------------------------
def run_cli(*arguments, tmp_path, extra_env=None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(ROOT),
        "ATTENTION_LAB_SETTINGS": str(tmp_path / "settings.ini"),
        "HF_HOME": str(tmp_path / "hf-home"),
        **(extra_env or {}),
    }
    env.pop("HF_HUB_CACHE", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *arguments], capture_output=True, text=True, env=env, cwd=ROOT, timeout=240
    )


@pytest.mark.parametrize(
    "arguments, sentence",
    [
        (("--checkpoint", "/"), "/ is not a checkpoint"),
        (("--gpt2", "/bin/ls"), "/bin/ls is not a folder"),
        (("--gpt2", "/nonexistent"), "/nonexistent is not a folder"),
        (("--model", "nonsense"), "nonsense is not in the Hugging Face cache"),
        (("--model", "/bin/ls"), "/bin/ls is a file, not a folder"),
    ],
)
def test_a_model_that_cannot_be_opened_is_told_on_the_terminal(tmp_path, arguments, sentence):
    result = run_cli(*arguments, "--screenshot", str(tmp_path / "x.png"), tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"attention-lab: {sentence}") and "Traceback" not in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_the_command_line_downloads_only_when_asked_then_draws_the_model(tmp_path, tiny_gpt2):
    with LoopbackHub() as server:
        server.add_model(SERVED_AS, tiny_gpt2)
        hub_env = {"HF_ENDPOINT": server.address}
        refused = run_cli("--model", SERVED_AS, tmp_path=tmp_path, extra_env=hub_env)
        assert refused.returncode == 1 and "--download" in refused.stderr
        assert not [request for request in server.requests if "/resolve/" in request[1]]
        shot = tmp_path / "shot.png"
        result = run_cli(
            "--model",
            SERVED_AS,
            "--download",
            "--prompt",
            "the the",
            "--screenshot",
            str(shot),
            tmp_path=tmp_path,
            extra_env=hub_env,
        )
    assert result.returncode == 0, result.stderr
    assert f"{SERVED_AS}: 100%" in result.stderr  # tqdm's bar on the terminal reached the end
    assert QImage(str(shot)).text("Model").startswith("Attention Lab — gpt2 (Hugging Face)")
