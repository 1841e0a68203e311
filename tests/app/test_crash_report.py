"""An unexpected error in a view: a dialog with the traceback, a way to save it, and the app goes on.

pytest-qt normally catches such errors itself (and fails the test); these tests turn that off and put
the app's own crash handler in place, as app.main does.
"""

from __future__ import annotations

import sys
import threading

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QWidget

from app import crash
from app.crash import install_crash_handler

pytestmark = pytest.mark.qt_no_exception_capture


@pytest.fixture
def reporter(qtbot, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # both hooks put back after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    reporter = install_crash_handler()
    yield reporter
    if reporter.dialog is not None:
        reporter.dialog.close()


def shown_dialog(qtbot, reporter, text: str):
    qtbot.waitUntil(
        lambda: (
            reporter.dialog is not None
            and reporter.dialog.isVisible()
            and text in reporter.dialog.details.toPlainText()
        ),
        timeout=10000,
    )
    return reporter.dialog


def visible_views(window) -> list:
    return [panel.widget for panel in window.panels if panel.is_on_screen() and panel.built]


def test_a_view_that_fails_on_a_prompt_shows_the_report_and_the_app_goes_on(
    qtbot, window, show_prompt, reporter, tmp_path, monkeypatch
):
    show_prompt("the cat")
    views = visible_views(window)
    broken = views[0]
    real_show_snapshot = broken.show_snapshot

    def show_snapshot(snapshot):
        if "boom" in "".join(snapshot.token_labels):
            raise RuntimeError("this view cannot draw the word boom")
        real_show_snapshot(snapshot)

    monkeypatch.setattr(broken, "show_snapshot", show_snapshot)
    boom = show_prompt("a boom")  # the window still finishes drawing this prompt

    dialog = shown_dialog(qtbot, reporter, "RuntimeError: this view cannot draw the word boom")
    details = dialog.details.toPlainText()
    assert "Traceback (most recent call last)" in details and "in show_snapshot" in details and "_redraw" in details
    assert "Attention Lab" in details and "torch" in details  # where it ran
    assert "RuntimeError: this view cannot draw the word boom" in dialog.headline.text()
    # The other views drew the failing prompt all the same.
    for view in views[1:]:
        if hasattr(view, "snapshot"):
            assert view.snapshot is boom, type(view).__name__

    # Save details…: the file holds what the dialog shows.
    saved = tmp_path / "report.txt"
    monkeypatch.setattr(crash.QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(saved), ""))
    dialog.save_button.click()
    assert saved.read_text(encoding="utf-8") == details

    # The app goes on: the next prompt is traced and drawn by every view, the broken one included.
    after = show_prompt("the dog")
    assert after.n_tokens == len("the dog") and window.controller.prompt == "the dog"
    for view in views:
        if hasattr(view, "snapshot"):
            assert view.snapshot is after, type(view).__name__
    assert details == dialog.details.toPlainText()  # nothing new went wrong


class PaintsBadly(QWidget):
    paints = 0

    def paintEvent(self, event) -> None:
        self.paints += 1
        raise ValueError("paintEvent broke")


class FailingThread(QThread):
    def run(self) -> None:
        raise KeyError("worker thread broke")


def test_errors_in_paint_events_and_worker_threads_reach_the_same_dialog(qtbot, reporter):
    widget = PaintsBadly()
    qtbot.addWidget(widget)
    widget.show()
    for paints in range(1, 4):  # it fails on every paint: counted, not listed again and again
        qtbot.waitUntil(lambda: widget.paints >= paints)
        widget.update()
    dialog = shown_dialog(qtbot, reporter, "ValueError: paintEvent broke")
    thread = FailingThread()
    thread.start()
    thread.wait()
    python_thread = threading.Thread(target=lambda: [][1])
    python_thread.start()
    python_thread.join()
    dialog = shown_dialog(qtbot, reporter, "KeyError: 'worker thread broke'")
    qtbot.waitUntil(lambda: "IndexError: list index out of range" in dialog.details.toPlainText())
    details = dialog.details.toPlainText()
    assert "in paintEvent" in details and "in run" in details
    assert details.count("ValueError: paintEvent broke") <= 2  # PySide words the first paint's error differently
    assert "this happened" in details
    assert "errors so far" in dialog.headline.text()  # the newest error on top, and how many there were


def test_a_bug_in_the_training_thread_is_reported_and_the_studio_trains_on(qtbot, window, reporter, tmp_path):
    from core.training.run_setup import RunSetup

    studio = window.ensure_studio()
    studio.autosave_folder = tmp_path / "autosave"
    with qtbot.waitSignal(studio.run_ready, timeout=20000):
        studio.set_up(
            RunSetup(
                corpus_kind="synthetic",
                corpus_name="previous-token",
                model_preset="nano",
                context_length=16,
                batch_size=8,
                max_steps=40,
                warmup_steps=5,
            )
        )
    trainer = studio.worker.trainer

    def bug(trainer):
        return trainer.no_such_thing  # an AttributeError: not one of the errors the worker expects

    with qtbot.waitSignal(studio.paused, timeout=20000):
        studio.worker.call(bug)
    dialog = shown_dialog(qtbot, reporter, "AttributeError")
    assert "no_such_thing" in dialog.headline.text() and "in bug" in dialog.details.toPlainText()
    assert studio.worker.isRunning()  # the thread lives on
    with qtbot.waitSignal(studio.frame_drawn, timeout=20000) as drawn:
        studio.step()
    assert drawn.args == [1]
    qtbot.waitUntil(lambda: trainer.step_count == 1 and not studio.worker.busy, timeout=20000)
