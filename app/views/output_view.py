"""Next token: the model's probabilities for what comes next, and the knobs that reshape them.

The faint outline of each bar is the model's own probability; the solid bar is what is left after
temperature, top-k and top-p, i.e. the distribution "Next token" actually samples from.
"""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.selection import Selection
from app.state.sampling import SamplingSettings
from app.state.snapshot import Snapshot
from app.theme import colours
from app.views.plot_style import style_graphics_view, style_plot_item
from app.views.bar_plot import bar_plot, keep_room_for_rows, rows_that_fit, set_row_labels
from app.views.view_base import caption
from app.views.export import ExportTable, add_export_menu
from app.views.modified_badge import ModifiedBadge
from app.views.probability_bars import ProbabilityBars
from app.views.text_line import TextLine
from core.model.sampling import next_token_probs, sample_next

TOP_N = 10  # bars shown when the panel is tall enough to label them all
FEWEST_ROWS = 3  # a short panel shows only the likeliest few, each with its label
GENERATE_DELAY_MS = 80  # pause between generated tokens, so the growth is visible
X_RANGES = (0.05, 0.1, 0.25, 0.5, 1.0)  # the probability axis snaps to the smallest that fits


def last_position(trace, name: str) -> np.ndarray:
    """(vocab,) one row of `name` ("logits" or "probs"): the prediction after the last token.

    Indexes the tensor directly: copying all (T, vocab) rows first would cost milliseconds for GPT-2.
    """
    return trace[name][0, -1].float().numpy().astype(np.float64)


def top_ids(values: np.ndarray, n: int) -> np.ndarray:
    """Ids of the n largest values, largest first (ties: smaller id first), without sorting them all."""
    n = min(n, len(values))
    candidates = np.argpartition(-values, n - 1)[:n]
    return candidates[np.lexsort((candidates, -values[candidates]))]


def _label_of(text: str, control: QWidget) -> QLabel:
    """A label naming `control` (its buddy)."""
    label = QLabel(text)
    label.setBuddy(control)
    return label


class OutputView(QWidget):
    TITLE = "Next token"
    TOOLTIP = (
        "The model's probabilities for the next token (outline), reshaped by temperature, top-k and "
        "top-p (solid), and buttons that sample from them."
    )
    OBJECT_NAME = "outputView"
    FOLLOWS_SELECTION = False

    token_chosen = Signal(int)  # a token id to append to the prompt
    generation_finished = Signal()
    sampling_changed = Signal()  # temperature, top-k or top-p moved (the bars are already redrawn)

    def __init__(self, selection: Selection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(self.OBJECT_NAME)
        self.selection = selection
        self.dark = False
        self._logits: np.ndarray | None = None  # (vocab,) logits at the last position
        self._model_probs: np.ndarray | None = None  # (vocab,) the trace's probs there (softmax of the logits)
        self._corrupted_probs: np.ndarray | None = None  # (vocab,) the corrupted prompt's, in Difference mode
        self._labels: tuple[str, ...] = ()
        self._shown_ids = np.zeros(0, dtype=int)
        self._shown_model = np.zeros(0)
        self._shown_probs = np.zeros(0)
        self._generator = torch.Generator().manual_seed(1234)
        self._generating = False
        self._remaining = 0  # tokens still to generate
        self.continuing = False  # the token being chosen is not a Generate's first
        self._first_of_run = True
        self._waiting_for_snapshot = False
        self._step_timer = QTimer(self, singleShot=True, interval=GENERATE_DELAY_MS)
        self._step_timer.timeout.connect(self._generate_one)

        self.heading = TextLine("Next token", object_name="outputHeading")
        self.badge = ModifiedBadge("outputModifiedBadge")  # these bars come from a changed model
        self._build_plot()
        controls = self._build_controls()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.badge)
        layout.addWidget(self.plot, stretch=1)
        layout.addLayout(controls)

    # -- building --------------------------------------------------------------------------------
    def _build_plot(self) -> None:
        self.plot = bar_plot("outputPlot", "probability")
        self.bars = ProbabilityBars()
        self.plot.addItem(self.bars)
        add_export_menu(self.plot, "next-token probabilities", self._export_table)
        self.plot.getPlotItem().getViewBox().sigResized.connect(self._on_plot_resized)

    def rows_that_fit(self) -> int:
        """As many bars as the plot has room to label (up to TOP_N)."""
        return rows_that_fit(self.plot, FEWEST_ROWS, TOP_N)

    def _on_plot_resized(self, *_ignored) -> None:
        if len(self._shown_ids) and len(self._shown_ids) != self.rows_that_fit():
            self._redraw()

    def _build_controls(self) -> QGridLayout:
        self.temperature_slider = self._slider(
            "temperatureSlider", 5, 300, 100, "Divide the logits by T: below 1 sharpens, above 1 flattens."
        )
        self.temperature_label = QLabel()
        self.top_k_spin = QSpinBox(objectName="topKSpin", minimum=0, maximum=1_000_000, value=0)
        self.top_k_spin.setSpecialValueText("off")
        self.top_k_spin.setToolTip("Keep only the k most likely tokens (off: keep all).")
        self.top_p_slider = self._slider(
            "topPSlider", 1, 100, 100, "Keep the most likely tokens until their probabilities add up to p."
        )
        self.top_p_label = QLabel()
        self.greedy_check = QCheckBox("Greedy", objectName="greedyCheck")
        self.greedy_check.setToolTip("Always take the most likely token instead of sampling.")
        self.next_button = QPushButton("Next token", objectName="nextTokenButton")
        self.next_button.setToolTip("Sample one token from the solid bars and add it to the prompt (Ctrl+Return).")
        self.generate_button = QPushButton("Generate", objectName="generateButton")
        self.generate_button.setToolTip("Add tokens one at a time, each sampled from the updated prediction (Ctrl+G).")
        self.generate_count = QSpinBox(objectName="generateCount", minimum=1, maximum=500, value=20, suffix=" tokens")
        self.stop_button = QPushButton("Stop", objectName="stopButton", enabled=False)

        self.temperature_slider.valueChanged.connect(self._on_sampling_changed)
        self.top_k_spin.valueChanged.connect(self._on_sampling_changed)
        self.top_p_slider.valueChanged.connect(self._on_sampling_changed)
        self.next_button.clicked.connect(self.sample_one)
        self.generate_button.clicked.connect(self.generate)
        self.stop_button.clicked.connect(self.stop_generating)

        # Each label's buddy is the control it names: presenter mode and printed pictures show or hide them together.
        grid = QGridLayout()
        grid.addWidget(_label_of("Temperature", self.temperature_slider), 0, 0)
        grid.addWidget(self.temperature_slider, 0, 1)
        grid.addWidget(self.temperature_label, 0, 2)
        grid.addWidget(_label_of("Top-p", self.top_p_slider), 1, 0)
        grid.addWidget(self.top_p_slider, 1, 1)
        grid.addWidget(self.top_p_label, 1, 2)
        row = QHBoxLayout()
        row.addWidget(_label_of("Top-k", self.top_k_spin))
        row.addWidget(self.top_k_spin)
        row.addWidget(self.greedy_check)
        row.addStretch(1)
        grid.addLayout(row, 2, 0, 1, 3)
        self.sampling_caption = caption(
            "Temperature below 1 sharpens, above 1 flattens. Top-p keeps the likeliest "
            "tokens until they add up to p; top-k keeps the k likeliest; greedy takes "
            "the top one.",
            "samplingCaption",
            point_size=9,
        )
        self.temperature_label.setBuddy(self.temperature_slider)
        self.top_p_label.setBuddy(self.top_p_slider)
        self.sampling_caption.setBuddy(self.temperature_slider)  # it explains the knobs: no knob, no caption
        grid.addWidget(self.sampling_caption, 3, 0, 1, 3)
        buttons = QHBoxLayout()
        for widget in (self.next_button, self.generate_button, self.generate_count, self.stop_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        grid.addLayout(buttons, 4, 0, 1, 3)
        grid.setColumnStretch(1, 1)
        self._update_control_labels()
        return grid

    @staticmethod
    def _slider(name: str, low: int, high: int, value: int, tooltip: str) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal, objectName=name, minimum=low, maximum=high, value=value)
        slider.setToolTip(tooltip)
        return slider

    # -- the sampling settings ---------------------------------------------------------------
    @property
    def temperature(self) -> float:
        return self.temperature_slider.value() / 100

    def set_temperature(self, value: float) -> None:
        self.temperature_slider.setValue(round(value * 100))

    @property
    def top_k(self) -> int | None:
        return self.top_k_spin.value() or None

    @property
    def top_p(self) -> float:
        return self.top_p_slider.value() / 100

    def sampling_settings(self) -> SamplingSettings:
        """Every sampling knob as it is set now."""
        return SamplingSettings(
            temperature=self.temperature,
            top_k=self.top_k or 0,
            top_p=self.top_p,
            greedy=self.greedy_check.isChecked(),
            generate_count=self.generate_count.value(),
        )

    def sampling_ranges(self) -> dict[str, tuple[float, float]]:
        """(lowest, highest) each knob can show, in the settings' units (the sliders count hundredths)."""
        return {
            "temperature": (self.temperature_slider.minimum() / 100, self.temperature_slider.maximum() / 100),
            "top_k": (self.top_k_spin.minimum(), self.top_k_spin.maximum()),
            "top_p": (self.top_p_slider.minimum() / 100, self.top_p_slider.maximum() / 100),
            "generate_count": (self.generate_count.minimum(), self.generate_count.maximum()),
        }

    def set_sampling_settings(self, settings: SamplingSettings) -> None:
        self.set_temperature(settings.temperature)
        self.top_k_spin.setValue(settings.top_k)
        self.top_p_slider.setValue(round(100 * settings.top_p))
        self.greedy_check.setChecked(settings.greedy)
        self.generate_count.setValue(settings.generate_count)

    def _on_sampling_changed(self) -> None:
        self._update_control_labels()
        self._redraw()
        self.sampling_changed.emit()

    def _update_control_labels(self) -> None:
        self.temperature_label.setText(f"{self.temperature:.2f}")
        self.top_p_label.setText(f"{self.top_p:.2f}")

    def sampling_distribution(self) -> np.ndarray:
        """(vocab,) the probabilities 'Next token' samples from, under the current settings."""
        probs = next_token_probs(
            torch.from_numpy(self._logits), temperature=self.temperature, top_k=self.top_k, top_p=self.top_p
        )
        return np.asarray(probs, dtype=np.float64)

    # -- drawing -------------------------------------------------------------------------------
    def show_snapshot(self, snapshot: Snapshot) -> None:
        shown = snapshot.clean if snapshot.is_difference else snapshot  # a difference of logits samples nothing
        self._logits = last_position(shown.trace, "logits")  # (vocab,)
        self._model_probs = last_position(shown.trace, "probs")  # (vocab,) the model's own, temperature 1
        self._corrupted_probs = last_position(snapshot.compared[1].trace, "probs") if snapshot.is_difference else None
        self._labels = snapshot.vocab_labels
        if self.top_k_spin.maximum() != snapshot.config.vocab_size:  # re-setting it repaints the box
            self.top_k_spin.setMaximum(snapshot.config.vocab_size)
        last = snapshot.token_labels[-1]
        self.heading.setText(
            f"After “{last}”: clean solid, corrupted outline, biggest change first"
            if snapshot.is_difference
            else f"What comes after “{last}”, the last of {snapshot.n_tokens} tokens?"
        )
        self.badge.show_intervention(snapshot.trace.intervention)
        self._redraw()
        if self._waiting_for_snapshot:
            self._waiting_for_snapshot = False
            self._step_timer.start()

    def _redraw(self) -> None:
        if self._logits is None:
            return
        model_probs = self._model_probs
        probs = self.sampling_distribution()
        # Rank by the model's own logits: temperature keeps the order, top-k/top-p only cut the tail.
        rows = self.rows_that_fit()
        if self._corrupted_probs is not None:  # clean (solid) against corrupted (outline), biggest change first
            self._draw_difference(rows)
            return
        order = top_ids(self._logits, rows)
        self._shown_ids, self._shown_model, self._shown_probs = order, model_probs[order], probs[order]
        cut = (self._shown_probs == 0) & (self._shown_model > 0)  # removed by top-k or top-p
        texts = ["cut" if is_cut else f"{100 * p:.1f}%" for is_cut, p in zip(cut.tolist(), self._shown_probs.tolist())]
        self.bars.set_bars(self._shown_model, self._shown_probs, texts, cut.tolist())
        x_max = next(
            r
            for r in X_RANGES
            if r >= max(self._shown_model.max(), self._shown_probs.max()) * 1.25 or r == X_RANGES[-1]
        )
        self.plot.getPlotItem().setXRange(0, x_max, padding=0)
        set_row_labels(self.plot, [self._labels[t] for t in order], rows)

    def _draw_difference(self, rows: int) -> None:
        clean, corrupted = self._model_probs, self._corrupted_probs
        order = top_ids(np.abs(clean - corrupted), rows)
        self._shown_ids, self._shown_model, self._shown_probs = order, corrupted[order], clean[order]
        texts = [f"{100 * (a - b):+.1f} pts" for a, b in zip(clean[order], corrupted[order])]  # the change
        self.bars.set_bars(self._shown_model, self._shown_probs, texts, [False] * len(order))
        self.plot.getPlotItem().setXRange(0, 1.4, padding=0)  # room for the change beside a full bar
        set_row_labels(self.plot, [self._labels[t] for t in order], rows)

    def shown_distribution(self) -> tuple[np.ndarray, np.ndarray]:
        """(token ids, probabilities) of the solid bars, top to bottom."""
        return self._shown_ids.copy(), self._shown_probs.copy()

    def _export_table(self) -> ExportTable:
        return ExportTable(
            np.column_stack([self._shown_model, self._shown_probs]),
            row_labels=[self._labels[t] for t in self._shown_ids],
            column_labels=["model probability", "after temperature/top-k/top-p"],
            corner="token",
            notes=[f"temperature {self.temperature}, top-k {self.top_k or 'off'}, top-p {self.top_p}"],
        )

    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        self.badge.set_theme(dark)
        style_graphics_view(self.plot, dark)
        style_plot_item(self.plot.getPlotItem(), dark)
        keep_room_for_rows(self.plot, FEWEST_ROWS)  # after the fonts: the rows are as tall as their labels
        theme = colours(dark)
        self.bars.set_colours(outline=theme.muted, solid=theme.accent, text=theme.text, muted=theme.muted)
        self._redraw()

    # -- sampling and generating ------------------------------------------------------------
    def pick_token(self) -> int | None:
        if self._logits is None:
            return None
        if self.greedy_check.isChecked():
            return int(np.argmax(self._logits))
        return int(sample_next(torch.from_numpy(self.sampling_distribution()), self._generator))

    def sample_one(self) -> None:
        token = self.pick_token()
        if token is not None:
            self.token_chosen.emit(token)

    def generate(self) -> None:
        """Generate as many tokens as the panel's count says."""
        self.start_generating(self.generate_count.value())

    def start_generating(self, count: int) -> None:
        """Append `count` tokens, one per snapshot, so every panel animates as the text grows."""
        if self._logits is None or count <= 0:
            return
        self._remaining = count
        self._generating = True
        self._first_of_run = True
        self._set_buttons(generating=True)
        self._step_timer.start()

    def stop_generating(self) -> None:
        if not self._generating:
            return
        self._generating = False
        self._remaining = 0
        self._waiting_for_snapshot = False
        self._step_timer.stop()
        self._set_buttons(generating=False)
        self.generation_finished.emit()

    @property
    def generating(self) -> bool:
        return self._generating

    def _generate_one(self) -> None:
        if not self._generating:
            return
        self._remaining -= 1
        self._waiting_for_snapshot = self._remaining > 0  # the next token waits for the new prediction
        self.continuing, self._first_of_run = not self._first_of_run, False
        try:
            self.sample_one()
        finally:
            self.continuing = False
        if self._remaining <= 0:
            self.stop_generating()

    def _set_buttons(self, generating: bool) -> None:
        self.generate_button.setEnabled(not generating)
        self.next_button.setEnabled(not generating)
        self.stop_button.setEnabled(generating)
