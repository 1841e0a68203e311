"""The studio inside the explorer window: closing mid-training, reloading the model, and
`--screenshot --train-steps N`."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from app.main import main
from app.settings import AppSettings
from app.studio import FilesDroppedBeforeStudio
from core.training.run_setup import RunSetup
from app.studio.run_store import read_run_info
from app.window import MainWindow

TINY = RunSetup(
    corpus_kind="synthetic",
    corpus_name="previous-token",
    model_preset="nano",
    context_length=16,
    batch_size=8,
    max_steps=40,
    warmup_steps=5,
)
WAIT_MS = 20_000


def window_with_a_run(qtbot, tmp_path):
    """(window, studio) with the TINY run set up, settings and autosave in tmp_path.

    The window is closed by the test, not deleted (no qtbot.addWidget): a window deleted under live Python
    references leaves dead thread wrappers that the leak tests' thread census trips over."""
    window = MainWindow(settings=AppSettings(tmp_path / "settings.ini"), prompt="", remember_layout=False)
    window.show()
    studio = window.ensure_studio()
    studio.autosave_folder = tmp_path / "autosave"
    with qtbot.waitSignal(studio.run_ready, timeout=WAIT_MS):
        studio.set_up(TINY)
    return window, studio


def test_closing_the_window_while_training_ends_the_worker_and_autosaves(qtbot, tmp_path):
    window, studio = window_with_a_run(qtbot, tmp_path)
    with qtbot.waitSignal(studio.frame_drawn, timeout=WAIT_MS):
        studio.train_steps(1_000_000)
    worker = studio.worker
    assert worker.isRunning() and worker.busy
    window.close()
    assert worker.isFinished() and not worker.isRunning()
    assert not window.controller.worker_running
    saved = read_run_info(tmp_path / "autosave")
    assert saved.step == studio.run.trainer.step_count > 0
    assert saved.setup == TINY


def test_screenshot_after_training_shows_the_trained_model(qtbot, tmp_path, monkeypatch):
    import app.screenshot

    seen = {}
    original = app.screenshot.save_picture_and_quit

    def save_and_quit(window, path):
        seen["trained"] = window.ensure_studio().run.trainer.step_count
        seen["shown"] = window.controller.snapshot.step
        original(window, path)

    monkeypatch.setattr(app.screenshot, "save_picture_and_quit", save_and_quit)
    picture = tmp_path / "trained.png"
    code = main(["--screenshot", str(picture), "--train-steps", "3", "--settings", str(tmp_path / "s.ini")])
    assert code == 0
    assert seen == {"trained": 3, "shown": 3}  # the picture is of the model after 3 steps
    image = QImage(str(picture))
    assert not image.isNull() and image.width() >= 800
    pixels = np.frombuffer(image.convertToFormat(QImage.Format.Format_Grayscale8).constBits(), np.uint8)
    assert pixels.std() > 10  # a real picture, not a blank one


def test_a_file_dropped_on_the_window_becomes_the_studios_corpus(qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    window = MainWindow(settings=AppSettings(tmp_path / "settings.ini"), prompt="", remember_layout=False)
    qtbot.addWidget(window)
    for name in ("first.txt", "second.txt"):  # before the studio was ever shown, and once it exists
        path = tmp_path / name
        path.write_text("some text to learn from\n" * 50, encoding="utf-8")
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        drop = QDropEvent(
            QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
        )
        # Straight to the window's event filter: offscreen Qt delivers no drop without a real drag in progress.
        assert window.findChild(FilesDroppedBeforeStudio).eventFilter(window, drop)
        setup = window.ensure_studio().setup_panel.setup()
        assert (setup.corpus_kind, setup.corpus_name) == ("file", str(path))
    window.close()


def test_reloading_the_default_model_resets_the_studio(qtbot, tmp_path):
    window, studio = window_with_a_run(qtbot, tmp_path)
    assert "training run" not in window.controller.session.source  # set up alone leaves the explorer alone
    with qtbot.waitSignal(studio.shown_step_changed, timeout=WAIT_MS):
        studio.train_steps(2)
    qtbot.waitUntil(lambda: "training run" in window.controller.session.source, timeout=WAIT_MS)
    with qtbot.waitSignal(studio.put_away, timeout=WAIT_MS):
        window.models.load_default_model()  # Model → Reload default model
    assert studio.run is None and studio.timeline is None and studio.plots.point_count() == 0
    assert "training run" not in window.controller.session.source
    assert "different model" in studio.message.text()
    window.close()
