"""Exporting the probe's attention over training (a GIF or PNGs) in the background, with progress and Cancel.

    export = AttentionExport(what_to_draw)           # a progress bar and a Cancel button (hidden when idle)
    export.start_gif(path)                           # what_to_draw() -> ([(step, WeightSnapshot)], config, probe ids)
    export.finished.connect(say)                     # (sentence, is_error) once it is done, failed or cancelled
    export.ask_gif()                                 # the GIF… button: a file dialog, then start_gif

The frames are rendered on a BackgroundJob thread (tracing the probe once per kept step is the slow part),
so the window stays responsive. Nothing is written until every frame exists, and a GIF is written
atomically: a cancelled or failed export leaves no half file behind.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from app.model_loader import BackgroundJob

from .attention_frames import attention_frames, export_gif, export_png_sequence


def export_work(write, steps_and_weights, config, probe_ids):
    """The job's work: render every frame (checking Cancel between them), then `write(frames)`.
    Returns what write returned, or None when cancelled (then nothing was written)."""

    def work(report, cancelled):
        frames = attention_frames(steps_and_weights, config, probe_ids, progress=report, cancelled=cancelled)
        if frames is None or cancelled():
            return None
        return write(frames)

    return work


class AttentionExport(QWidget):
    started = Signal(object)  # the BackgroundJob, just before it starts (connect to its progress here)
    finished = Signal(str, bool)  # (a sentence for the user, True if it failed)

    def __init__(self, what_to_draw: Callable[[], tuple], parent: QWidget | None = None) -> None:
        """what_to_draw(): ([(step, WeightSnapshot), ...], model config, probe token ids), read when an export
        starts (on the GUI thread: the snapshots are immutable, so the job can use them while training goes on)."""
        super().__init__(parent)
        self.setObjectName("attentionExport")
        self._what_to_draw = what_to_draw
        self.label = QLabel(objectName="exportLabel")
        self.progress = QProgressBar(objectName="exportProgress")
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel", objectName="exportCancelButton")
        self.cancel_button.setToolTip("Stop the export; nothing is written.")
        self.cancel_button.clicked.connect(self.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.progress, 1)
        layout.addWidget(self.cancel_button)
        self.job: BackgroundJob | None = None
        self._done_sentence = ""
        self.hide()

    @property
    def busy(self) -> bool:
        return self.job is not None

    # -- now, on this thread (scripts and tests) ---------------------------------------------------------
    def frames(self):
        """(step, QImage) for every kept step: the probe's attention as it was."""
        return attention_frames(*self._what_to_draw())

    def write_gif_now(self, path: str | Path) -> Path:
        return export_gif(path, self.frames())

    def write_pngs_now(self, folder: str | Path) -> list[Path]:
        return export_png_sequence(folder, self.frames())

    # -- in the background ----------------------------------------------------------------------------------
    def ask_gif(self) -> None:
        """The GIF… button: choose a file, then export to it in the background."""
        if self._what_to_draw()[0]:
            path, _ = QFileDialog.getSaveFileName(
                self,
                "Save the attention over training as a GIF",
                str(Path.home() / "attention-over-training.gif"),
                "GIF (*.gif)",
            )
            if path:
                self.start_gif(path)

    def ask_pngs(self) -> None:
        if self._what_to_draw()[0]:
            folder = QFileDialog.getExistingDirectory(self, "Choose a folder for the PNG pictures", str(Path.home()))
            if folder:
                self.start_pngs(folder)

    def start_gif(self, path: str | Path) -> BackgroundJob | None:
        items, config, probe_ids = self._what_to_draw()
        return self._start(
            export_work(lambda frames: export_gif(path, frames), items, config, probe_ids),
            f"Making the GIF ({len(items)} frames)…",
            f"Saved {len(items)} frames to {path}",
        )

    def start_pngs(self, folder: str | Path) -> BackgroundJob | None:
        items, config, probe_ids = self._what_to_draw()
        return self._start(
            export_work(lambda frames: export_png_sequence(folder, frames), items, config, probe_ids),
            f"Making {len(items)} pictures…",
            f"Saved {len(items)} pictures to {folder}",
        )

    def _start(self, work, doing: str, done: str) -> BackgroundJob | None:
        if self.job is not None:
            self.finished.emit("An export is still running; wait for it or cancel it first.", True)
            return None
        self._done_sentence = done
        self.job = BackgroundJob(work, self)
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.label.setText(doing)
        self.progress.setRange(0, 0)  # busy until the first frame is made
        self.progress.setFormat("")
        self.cancel_button.setEnabled(True)
        self.show()
        self.started.emit(self.job)
        self.job.start()
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.label.setText("Cancelling…")

    def wait(self, timeout_ms: int = 10_000) -> None:
        """Let a running export end (the window is closing)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait(timeout_ms)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(f"frame {done} of {total}")

    def _on_finished(self) -> None:
        job, self.job = self.job, None
        job.wait()  # 'finished' comes just before the thread ends
        job.deleteLater()
        self.hide()
        if job.error is not None:
            self.finished.emit(f"Could not export: {job.error}", True)
        elif job.result is None:
            self.finished.emit("Export cancelled; nothing was written.", False)
        else:
            self.finished.emit(self._done_sentence, False)
