"""Exporting the probe's attention over training (a GIF or PNGs) in the background, with progress and Cancel.

    export = AttentionExport()                       # a progress bar and a Cancel button (hidden when idle)
    export.start_gif(path, steps_and_weights, config, probe_ids)
    export.finished.connect(say)                     # (sentence, is_error) once it is done, failed or cancelled

The frames are rendered on a BackgroundJob thread (tracing the probe once per kept step is the slow part),
so the window stays responsive. Nothing is written until every frame exists, and a GIF is written
atomically: a cancelled or failed export leaves no half file behind.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

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
    finished = Signal(str, bool)   # (a sentence for the user, True if it failed)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attentionExport")
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

    def start_gif(self, path: str | Path, steps_and_weights, config, probe_ids) -> BackgroundJob | None:
        items = list(steps_and_weights)
        return self._start(export_work(lambda frames: export_gif(path, frames), items, config, probe_ids),
                           f"Making the GIF ({len(items)} frames)…", f"Saved {len(items)} frames to {path}")

    def start_pngs(self, folder: str | Path, steps_and_weights, config, probe_ids) -> BackgroundJob | None:
        items = list(steps_and_weights)
        return self._start(export_work(lambda frames: export_png_sequence(folder, frames), items, config, probe_ids),
                           f"Making {len(items)} pictures…", f"Saved {len(items)} pictures to {folder}")

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
