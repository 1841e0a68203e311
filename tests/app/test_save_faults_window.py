"""A save that fails in the window: the user reads why where they are looking, and keeps working.

Three saves: Model > Save checkpoint (ModelOpener.save_checkpoint), File > Save session (the classroom),
and the training studio's Save. Each into a place that cannot hold it (a file where a folder should be)
and onto a disk that fills part way (the checkpoint's low-level write, replaced to fail with ENOSPC).
After each: the message is shown, no temporary file is left, an earlier save there still loads, and
the model in memory is the same and still works (the explorer traces a new prompt; the studio trains).
"""

from __future__ import annotations

import errno
import os

import pytest
import torch
from PySide6.QtWidgets import QMessageBox

from core.files import checkpoint as checkpoint_module
from core.files.checkpoint import load_checkpoint
from core.files.class_file import load_class_file

from lesson_fixtures import classroom, shown  # noqa: F401  (fixtures)
from studio_runs import TINY_RUN

TINY = TINY_RUN
WAIT_MS = 20_000


def disk_full_after(limit: int):
    """The checkpoint's low-level write, failing as a full disk does once `limit` bytes are written."""

    def write_all(file, data: bytes) -> None:
        file.write(data[:limit])
        if len(data) > limit:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return write_all


@pytest.fixture
def file_in_the_way(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    return blocker


def weights_of(model) -> dict:
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def assert_unchanged(model, weights: dict) -> None:
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, weights[name]), name


def error_box_text(window) -> str:
    box = window.findChild(QMessageBox, "errorBox")
    assert box is not None and box.isVisible()
    text = box.text()
    box.close()
    return text


def assert_still_traces(window, show_prompt, text: str) -> None:
    """The explorer reads a new prompt with the model in memory, and draws it."""
    snapshot = show_prompt(text)
    session = window.controller.session
    ids = session.tokenizer.encode(text)
    assert snapshot.n_tokens == len(ids) and window.snapshot is snapshot
    with torch.no_grad():
        expected = session.model.trace(ids)["logits"]
    torch.testing.assert_close(snapshot.trace["logits"], expected)


# -- Model > Save checkpoint ---------------------------------------------------------------------------
def test_saving_a_checkpoint_where_a_file_is_in_the_way(window, show_prompt, file_in_the_way):
    show_prompt("the cat")
    session, weights = window.controller.session, weights_of(window.controller.session.model)
    assert window.models.save_checkpoint(file_in_the_way / "model") is False
    assert window.statusBar().currentMessage().startswith("Could not save the checkpoint")
    text = error_box_text(window)
    assert f"{file_in_the_way} is a file, not a folder" in text
    assert window.controller.session is session
    assert_unchanged(session.model, weights)
    assert_still_traces(window, show_prompt, "the dog ran")
    assert file_in_the_way.read_text() == "a file, not a folder"


def test_a_full_disk_keeps_the_earlier_checkpoint_and_the_model(window, show_prompt, tmp_path, monkeypatch):
    show_prompt("the cat")
    folder = tmp_path / "model"
    assert window.models.save_checkpoint(folder)
    session, weights = window.controller.session, weights_of(window.controller.session.model)
    with torch.no_grad():
        session.model.transformer.wte.weight.mul_(2.0)  # the user changed the model since that save
    changed = weights_of(session.model)
    monkeypatch.setattr(checkpoint_module, "_write_all", disk_full_after(1_000))
    assert window.models.save_checkpoint(folder) is False
    text = error_box_text(window)
    assert text.startswith("The disk is full") and str(folder) in text
    assert "disk is full" in window.statusBar().currentMessage()
    assert sorted(os.listdir(folder)) == ["meta.json", "model.safetensors"]  # no temporary files
    monkeypatch.undo()
    assert_unchanged(load_checkpoint(folder).model, weights)  # the earlier save, whole
    assert_unchanged(session.model, changed)  # the model in memory, as the user left it
    assert_still_traces(window, show_prompt, "a cat sat")
    assert window.models.save_checkpoint(folder)  # with room again, the same save works
    assert_unchanged(load_checkpoint(folder).model, changed)


# -- File > Save session -----------------------------------------------------------------------------
def test_a_session_that_cannot_be_saved_says_why(window, shown, show_prompt, tmp_path, monkeypatch, file_in_the_way):
    from app.lessons import classroom as classroom_module
    from core.files import class_file as class_file_module

    earlier = shown.save_class_file(tmp_path / "lesson")
    session, weights = window.controller.session, weights_of(window.controller.session.model)

    def disk_full(file, *args) -> None:
        file.write(b"PK the first bytes of a zip")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(class_file_module, "_write_archive", disk_full)
    monkeypatch.setattr(classroom_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(earlier), ""))
    shown.ask_save_class_file()
    assert window.statusBar().currentMessage().startswith("Could not save the session: The disk is full")
    assert str(earlier) in error_box_text(window)
    assert sorted(os.listdir(tmp_path)) == ["lesson.attnlab", "notes.txt"]
    assert load_class_file(earlier).prompt == window.controller.prompt  # the earlier file, whole

    monkeypatch.setattr(
        classroom_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(file_in_the_way / "lesson.attnlab"), "")
    )
    shown.ask_save_class_file()
    assert f"{file_in_the_way} is a file, not a folder" in error_box_text(window)
    assert window.controller.session is session
    assert_unchanged(session.model, weights)
    assert_still_traces(window, show_prompt, "the mat")


# -- the training studio's Save ---------------------------------------------------------------------
@pytest.fixture
def studio(qtbot, window, tmp_path):
    studio = window.ensure_studio()
    studio.autosave_folder = tmp_path / "autosave"
    with qtbot.waitSignal(studio.run_ready, timeout=WAIT_MS):
        studio.set_up(TINY)
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(3)
    return studio


def test_a_studio_save_that_fails_says_why_and_training_goes_on(
    qtbot, window, studio, show_prompt, tmp_path, monkeypatch, file_in_the_way
):
    trainer = studio.worker.trainer
    folder = tmp_path / "run"
    with qtbot.waitSignal(studio.saved, timeout=WAIT_MS):
        studio.save_run(folder)
    weights = weights_of(trainer.model)

    monkeypatch.setattr(checkpoint_module, "_write_all", disk_full_after(500))
    with qtbot.waitSignal(studio.worker.called, timeout=WAIT_MS) as called:
        studio.save_run(folder)
    assert called.args[2].startswith("Could not save the run: The disk is full")
    assert "Could not save the run: The disk is full" in studio.message.text() and studio.message.isVisible()
    assert sorted(os.listdir(folder)) == ["meta.json", "model.safetensors", "optimizer.safetensors", "studio.json"]
    monkeypatch.undo()
    assert load_checkpoint(folder).step == 3

    with qtbot.waitSignal(studio.worker.called, timeout=WAIT_MS):
        studio.save_run(file_in_the_way / "run")
    assert f"{file_in_the_way} is a file, not a folder" in studio.message.text()

    assert trainer.step_count == 3
    assert_unchanged(trainer.model, weights)
    with qtbot.waitSignal(studio.frame_drawn, timeout=WAIT_MS) as drawn:
        studio.step()  # the studio still trains
    assert drawn.args == [4]
    qtbot.waitUntil(lambda: not studio.worker.busy, timeout=WAIT_MS)
    assert trainer.step_count == 4
    assert_still_traces(window, show_prompt, studio.run.probe_prompt[:6])
