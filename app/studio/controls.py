"""Play, Pause, Step, Step ×10, Reset, "train N steps" with a progress bar and ETA, Save, and the pace."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget

from app.views.text_line import TextLine


LABEL_INTERVAL_S = 0.25  # progress text and speed are redrawn at most this often
# The pace a run may train at, in steps per second (0: as fast as the machine can), slowest last.
PACES = (0.0, 30.0, 10.0, 5.0, 2.0, 1.0)
PACE_SETTING = "studio/steps_per_second"  # the pace chosen last time (0: as fast as possible)
PACE_NOTE = "most steps per second; 1 gives time to talk"  # one short line: it must fit a narrow studio
PACE_TIP = "Pace: the most steps per second training takes; 1 step/s is slow enough to talk over every step."


def pace_name(rate: float) -> str:
    if rate <= 0:
        return "as fast as possible"
    return "1 step/s" if rate == 1 else f"{rate:g} steps/s"


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class ControlBar(QWidget):
    play_clicked = Signal()
    pause_clicked = Signal()
    step_clicked = Signal()
    step10_clicked = Signal()
    train_n_clicked = Signal(int)
    reset_clicked = Signal()
    save_clicked = Signal()
    pace_changed = Signal(float)  # steps per second at most (0: as fast as possible)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingControls")
        self.play_button = self._button(
            "▶ Play",
            "trainPlayButton",
            self.play_clicked,
            "Train until the planned number of steps is reached (Pause stops).",
        )
        self.pause_button = self._button(
            "Pause", "trainPauseButton", self.pause_clicked, "Stop after the step in progress."
        )
        self.step_button = self._button(
            "Step", "trainStepButton", self.step_clicked, "Exactly one optimizer step, opened up in the One step tab."
        )
        self.step10_button = self._button("Step ×10", "trainStep10Button", self.step10_clicked, "Ten optimizer steps.")
        self.n_spin = QSpinBox(objectName="trainNSteps", minimum=1, maximum=1_000_000, value=200, singleStep=100)
        self.n_spin.setToolTip("How many steps “Train” takes.")
        self.n_button = QPushButton("Train", objectName="trainNButton")
        self.n_button.setToolTip("Take this many steps, with a progress bar and the time left.")
        self.n_button.clicked.connect(lambda: self.train_n_clicked.emit(self.n_spin.value()))
        self.reset_button = self._button(
            "Reset",
            "trainResetButton",
            self.reset_clicked,
            "Start the run again from fresh random weights (same settings).",
        )
        self.save_button = self._button(
            "Save…",
            "saveRunButton",
            self.save_clicked,
            "Save a checkpoint of the run now; it can be resumed after a restart.",
        )
        self.progress = QProgressBar(objectName="trainProgress")
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(120)
        self.speed_label = TextLine(object_name="trainSpeed")  # changes as it trains: repaints only itself
        self.speed_label.setMinimumWidth(self.speed_label.fontMetrics().horizontalAdvance("999.9 steps/s") + 4)
        self.pace = QComboBox(objectName="trainPace")
        for rate in PACES:
            self.pace.addItem(pace_name(rate), rate)
        self.pace.setToolTip("How fast training may go. Slow it down to narrate what each step changes.")
        self.pace.currentIndexChanged.connect(lambda index: self.pace_changed.emit(self.pace.itemData(index)))
        self.pace_note = QLabel(PACE_NOTE, objectName="trainPaceNote")
        self.pace_note.setToolTip(PACE_TIP)
        # two rows of four: one row of eight buttons would not fit the studio beside the explorer at 1280
        stepping, running = QHBoxLayout(), QHBoxLayout()
        for widget in (self.play_button, self.pause_button, self.step_button, self.step10_button):
            stepping.addWidget(widget)
        for widget in (self.n_spin, self.n_button, self.reset_button, self.save_button):
            running.addWidget(widget)
        progress = QHBoxLayout()
        progress.addWidget(self.progress, 1)
        progress.addWidget(self.speed_label)
        pace = QHBoxLayout()
        pace.addWidget(QLabel("Pace"))
        pace.addWidget(self.pace)
        pace.addWidget(self.pace_note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(stepping)
        layout.addLayout(running)
        layout.addLayout(progress)
        layout.addLayout(pace)
        self._shown_at = 0.0
        self.clear_progress()
        self.set_running(False)

    def _button(self, text: str, name: str, signal, tip: str) -> QPushButton:
        button = QPushButton(text, objectName=name)
        button.setToolTip(tip)
        button.clicked.connect(signal)
        return button

    def set_pace(self, rate: float) -> None:
        """Choose the pace nearest `rate` (as a user would; pace_changed follows)."""
        index = min(range(len(PACES)), key=lambda i: abs(PACES[i] - rate) if (PACES[i] > 0) == (rate > 0) else 1e9)
        self.pace.setCurrentIndex(index)

    @property
    def pace_rate(self) -> float:
        return float(self.pace.currentData())

    def remember_pace(self, settings) -> None:
        """Start at the pace stored in `settings` (an AppSettings) and store every new choice there."""
        self.set_pace(settings.value(PACE_SETTING, 0.0, float))
        self.pace_changed.connect(lambda rate: settings.set_value(PACE_SETTING, rate))

    def set_running(self, running: bool) -> None:
        for button in (self.play_button, self.step_button, self.step10_button, self.n_button, self.reset_button):
            button.setEnabled(not running)
        self.pause_button.setEnabled(running)

    def set_enabled_for_run(self, has_run: bool) -> None:
        for button in (self.play_button, self.step_button, self.step10_button, self.n_button, self.save_button):
            button.setEnabled(has_run)

    # -- progress ---------------------------------------------------------------------------------
    def start_progress(self, start_step: int, target_step: int) -> None:
        self._start_step, self._target_step = start_step, target_step
        self.progress.setRange(start_step, max(target_step, start_step + 1))
        self.progress.setValue(start_step)
        self.progress.setFormat(f"step %v of {target_step}")

    def show_progress(self, step: int, steps_per_second: float) -> None:
        now = time.perf_counter()
        if self._target_step <= self._start_step or (
            now - self._shown_at < LABEL_INTERVAL_S and step < self._target_step
        ):
            return  # a progress bar repaints itself at once: a few times a second is plenty
        self._shown_at = now
        self.progress.setValue(min(step, self._target_step))
        left = self._target_step - step
        eta = f" · {format_duration(left / steps_per_second)} left" if steps_per_second > 0 and left > 0 else ""
        self.progress.setFormat(f"step {step} of {self._target_step}{eta}")
        self.speed_label.setText(f"{steps_per_second:.1f} steps/s" if steps_per_second > 0 else "")

    def clear_progress(self) -> None:
        self._start_step = self._target_step = 0
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("not training")
        self.speed_label.setText("")

    def stop_progress(self, step: int) -> None:
        if step >= self._target_step > self._start_step:
            self.progress.setFormat(f"done: step {step}")
        elif self._target_step > self._start_step:
            self.progress.setFormat(f"paused at step {step} of {self._target_step}")
