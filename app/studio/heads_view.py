"""Every head at once, and what each head has become over training.

Left: the attention pattern of every layer × head on the probe prompt, for the weights the explorer
shows (live, or the step the timeline is at). Right: the head-detector scores (previous-token,
induction, first-token, positional) of every head plotted against the training step.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QBoxLayout, QLabel, QVBoxLayout, QWidget

from app.selection import Selection
from app.state.snapshot import Snapshot
from app.views.attention_grid import AttentionGrid
from app.views.export import ExportTable, add_export_menu
from app.views.plot_style import CURVE_COLOURS, colours, style_graphics_view, style_plot_item
from core.teaching.analysis import all_patterns
from core.teaching.detectors import DETECTOR_EXPLANATIONS, DETECTORS
from .narrow import SIDE_BY_SIDE, keep_narrow_minimum, stack_when_narrow

DETECTOR_TITLES = {
    "previous_token": "previous-token",
    "induction": "induction",
    "first_token": "first-token",
    "positional": "positional",
}
STRONG_SCORE = 0.4  # a head scoring above this on a detector gets that name in its title
# Scores run from 0 to 1: three fixed ticks stay apart however short a plot gets (automatic ticks crowd)
SCORE_TICKS = [[(0.0, "0"), (0.5, "0.5"), (1.0, "1")]]
SCORE_AXIS_WIDTH = 34  # pixels: room for the widest score tick ("0.5") and its tick line
SIDE_BY_SIDE_WIDTH = 760  # pixels: a narrower Heads tab puts the detector plots below the head grid


def strongest_heads(scores: dict[str, np.ndarray] | None) -> list[tuple[float, int, int, str]]:
    """(score, layer, head, detector) for every head whose best detector scores >= STRONG_SCORE, best first."""
    if scores is None:
        return []
    n_layers, n_heads = scores[DETECTORS[0]].shape
    found = []
    for layer in range(n_layers):
        for head in range(n_heads):
            best = max(DETECTORS, key=lambda name: np.nan_to_num(scores[name][layer, head]))
            value = float(np.nan_to_num(scores[best][layer, head]))
            if value >= STRONG_SCORE:
                found.append((value, layer, head, best))
    return sorted(found, reverse=True)


class DetectorPlots(QWidget):
    """One plot per detector; one curve per head; x = training step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detectorPlots")
        self.steps: list[int] = []
        self.history: list[dict[str, np.ndarray]] = []
        self.widgets: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, list[pg.PlotDataItem]] = {}
        self.markers: list[pg.InfiniteLine] = []
        self.dark = False
        grid = pg.GraphicsLayoutWidget()
        grid.setObjectName("detectorGrid")
        grid.setMinimumSize(260, 200)
        self.grid = grid
        for index, name in enumerate(DETECTORS):
            plot = grid.addPlot(row=index // 2, col=index % 2, title=DETECTOR_TITLES[name], enableMenu=False)
            plot.setYRange(0, 1, padding=0.05)
            score_axis = plot.getAxis("left")
            score_axis.setTicks(SCORE_TICKS)
            score_axis.setWidth(SCORE_AXIS_WIDTH)
            score_axis.setStyle(hideOverlappingLabels=False)  # "0" and "1" sit at the ends: show them whole
            plot.setLabel("bottom", "step")
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.hideButtons()
            plot.setToolTip(DETECTOR_EXPLANATIONS[name])
            marker = pg.InfiniteLine(angle=90, movable=False)
            marker.hide()
            plot.addItem(marker)
            self.markers.append(marker)
            self.widgets[name] = plot
            self.curves[name] = []
        self.legend = QLabel(objectName="detectorLegend")
        self.legend.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(grid, 1)
        layout.addWidget(self.legend)
        add_export_menu(grid, "head detector scores", self.export_table)
        self.set_theme(False)

    def add_scores(self, step: int, scores: dict[str, np.ndarray]) -> None:
        if self.steps and step <= self.steps[-1]:  # a rollback: the later history is rewritten
            self.keep_until(step - 1)
        self.steps.append(step)
        self.history.append(scores)

    def keep_until(self, step: int) -> None:
        kept = sum(1 for s in self.steps if s <= step)
        del self.steps[kept:], self.history[kept:]

    def clear(self) -> None:
        self.steps.clear()
        self.history.clear()
        self.repaint()

    def showEvent(self, event) -> None:
        """While training, the plots are not drawn out of sight: catch up when they are shown again."""
        super().showEvent(event)
        self.repaint()

    def repaint(self) -> None:
        if not self.history:
            for curves in self.curves.values():
                for curve in curves:
                    curve.setData([], [])
            return
        n_layers, n_heads = self.history[-1][DETECTORS[0]].shape
        steps = np.asarray(self.steps, dtype=float)
        for name in DETECTORS:
            values = np.stack([scores[name] for scores in self.history]).reshape(len(steps), -1)  # (steps, L·H)
            self._ensure_curves(name, n_layers * n_heads)
            for index, curve in enumerate(self.curves[name]):
                curve.setData(steps, values[:, index], connect="finite")
        self._update_legend(n_layers, n_heads)

    def _ensure_curves(self, name: str, count: int) -> None:
        curves = self.curves[name]
        while len(curves) > count:
            self.widgets[name].removeItem(curves.pop())
        while len(curves) < count:
            colour = CURVE_COLOURS[len(curves) % len(CURVE_COLOURS)]
            style = (
                pg.QtCore.Qt.PenStyle.SolidLine if len(curves) < len(CURVE_COLOURS) else pg.QtCore.Qt.PenStyle.DashLine
            )
            curves.append(self.widgets[name].plot([], [], pen=pg.mkPen(colour, width=2, style=style)))

    def _update_legend(self, n_layers: int, n_heads: int) -> None:
        items = []
        for index in range(n_layers * n_heads):
            layer, head = divmod(index, n_heads)
            colour = CURVE_COLOURS[index % len(CURVE_COLOURS)]
            dashed = " (dashed)" if index >= len(CURVE_COLOURS) else ""
            items.append(f"<span style='color:{colour}'>■</span> L{layer} H{head}{dashed}")
        self.legend.setText(
            "Heads: " + " &nbsp; ".join(items) + " &nbsp; — induction is measured on a random "
            "sequence shown twice; the others on the run's probe prompt."
        )

    def show_marker(self, step: int | None) -> None:
        for marker in self.markers:
            marker.setVisible(step is not None)
            if step is not None:
                marker.setValue(step)

    def scores_at(self, step: int) -> dict[str, np.ndarray] | None:
        """Scores recorded at the last step at or before `step`."""
        index = np.searchsorted(self.steps, step, side="right") - 1
        return self.history[index] if index >= 0 else None

    def export_table(self) -> ExportTable:
        if not self.history:
            return ExportTable(np.zeros((0, 0)))
        n_layers, n_heads = self.history[-1][DETECTORS[0]].shape
        columns, values = [], []
        for name in DETECTORS:
            values.append(np.stack([s[name].reshape(-1) for s in self.history]))
            columns += [f"{name} L{layer} H{head}" for layer in range(n_layers) for head in range(n_heads)]
        return ExportTable(
            np.hstack(values), row_labels=[str(s) for s in self.steps], column_labels=columns, corner="step"
        )

    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        style_graphics_view(self.grid, dark)
        for plot in self.widgets.values():
            style_plot_item(plot, dark)
        for marker in self.markers:
            marker.setPen(pg.mkPen(colours(dark)["accent"], width=2))


class HeadsView(QWidget):
    """The head grid beside the detector plots."""

    TITLE = "Heads over training"

    def __init__(self, selection: Selection | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("headsView")
        self.selection = selection
        self.grid = AttentionGrid()
        self.grid.setObjectName("studioHeadGrid")
        if selection is not None:  # click a head: the explorer's panels open it
            self.grid.head_clicked.connect(selection.select)
        self.detectors = DetectorPlots()
        self.caption = QLabel(objectName="headGridCaption")
        self.caption.setWordWrap(True)
        self.caption.setText(
            "Attention of every head on the probe prompt (rows: the token reading, "
            "columns: the tokens it reads; bright = much attention)."
        )
        left = QVBoxLayout()
        left.addWidget(self.grid, 1)
        left.addWidget(self.caption)
        self.arrangement = QBoxLayout(SIDE_BY_SIDE, self)
        self.arrangement.addLayout(left, 1)
        self.arrangement.addWidget(self.detectors, 1)
        keep_narrow_minimum(self, self.arrangement)  # a narrow tab stacks the two: resizeEvent
        self.snapshot: Snapshot | None = None

    def resizeEvent(self, event) -> None:
        """Side by side where both get room; above each other on a narrow tab (e.g. at 1280x720)."""
        stack_when_narrow(self, self.arrangement, event.size().width(), SIDE_BY_SIDE_WIDTH)
        super().resizeEvent(event)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Draw every head of the snapshot's prompt and name the heads the detectors recognise."""
        self.snapshot = snapshot
        patterns = all_patterns(snapshot.trace, snapshot.config.n_layers)  # (L, nh, T, T)
        selected = (self.selection.layer, self.selection.head) if self.selection is not None else (0, 0)
        self.grid.set_patterns(patterns, selected, snapshot.token_labels)
        step = snapshot.step or 0
        named = [
            f"L{layer} H{head} {DETECTOR_TITLES[name]} {value:.2f}"
            for value, layer, head, name in strongest_heads(self.detectors.scores_at(step))
        ]
        self.caption.setText(
            f"Step {step}: every head on the probe prompt ({snapshot.n_tokens} tokens; rows read, "
            f"columns are read; bright = much attention). Recognised: "
            f"{', '.join(named) if named else 'no head scores ≥ ' + str(STRONG_SCORE) + ' yet'}."
        )

    def set_theme(self, dark: bool) -> None:
        self.grid.set_theme(dark)
        self.detectors.set_theme(dark)
