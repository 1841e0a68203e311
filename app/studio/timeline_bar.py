"""The timeline slider: drag back through training; every panel shows the model as it was then.

The slider runs over the steps trained so far. Dragging it picks the nearest kept snapshot (they are
every N steps, N doubling as the run grows); the right end means "live": follow the training.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from app.views.text_line import TextLine


class TimelineBar(QWidget):
    scrubbed = Signal(object)  # the step to show, or None to follow the live run
    export_gif_requested = Signal()
    export_png_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timelineBar")
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="timelineSlider")
        self.slider.setToolTip(
            "Drag back through training: every panel shows the model as it was at that step. "
            "All the way right follows the live run."
        )
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._on_slider_moved)
        # On its own line below the slider (a narrow studio wraps it). It changes with every piece of progress:
        # a TextLine repaints only itself, and keeps its room, where a QLabel re-laid out the whole window.
        self.label = TextLine("step 0 (live)", object_name="timelineLabel", word_wrap=True, keep_room=True)
        self.live_button = QPushButton("Live", objectName="timelineLiveButton")
        self.live_button.setToolTip("Follow the training again.")
        self.live_button.clicked.connect(self.go_live)
        self.gif_button = QPushButton("GIF…", objectName="exportGifButton")
        self.gif_button.setToolTip("Save the probe's attention at every kept step as an animated GIF.")
        self.gif_button.clicked.connect(self.export_gif_requested)
        self.png_button = QPushButton("PNGs…", objectName="exportPngButton")
        self.png_button.setToolTip("Save the probe's attention at every kept step as a sequence of PNG pictures.")
        self.png_button.clicked.connect(self.export_png_requested)
        row = QHBoxLayout()
        row.addWidget(QLabel("Timeline"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.live_button)
        row.addWidget(self.gif_button)
        row.addWidget(self.png_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.label)
        self._live = True
        self._snapshot_note = ""

    @property
    def live(self) -> bool:
        return self._live

    def set_latest_step(self, step: int, snapshot_every: int, kept: int) -> None:
        """The run reached `step`; a live slider moves along with it."""
        self._snapshot_note = f"{kept} snapshots, every {snapshot_every} steps"
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(0, step))
        if self._live:
            self.slider.setValue(step)
        self.slider.blockSignals(False)
        if self._live:
            self.label.setText(f"step {step} (live) · {self._snapshot_note}")

    def show_step(self, shown_step: int) -> None:
        """Say which kept step is shown (the nearest snapshot to where the slider points)."""
        self.label.setText(f"showing step {shown_step} of {self.slider.maximum()} · {self._snapshot_note}")

    def scrub_to(self, step: int) -> None:
        """Move the slider (as a drag would)."""
        if self.slider.value() != step:
            self.slider.setValue(step)  # valueChanged does the rest
        else:
            self._on_slider_moved(step)

    def go_live(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)
        self._live = True
        self.label.setText(f"step {self.slider.maximum()} (live) · {self._snapshot_note}")
        self.scrubbed.emit(None)

    def reset(self) -> None:
        self._live = True
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.blockSignals(False)
        self.label.setText("step 0 (live)")

    def _on_slider_moved(self, value: int) -> None:
        if value >= self.slider.maximum():
            if not self._live:
                self.go_live()
            return
        self._live = False
        self.scrubbed.emit(value)
