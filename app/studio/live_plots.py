"""Live training curves: loss (train and validation), learning rate, gradient norm per layer,
update-to-weight ratio per layer, and the latest text sample.

Records arrive in batches (`add_records`); the curves are redrawn only when `repaint()` is called,
which the studio does from its ~30 fps timer, so a fast run never floods the GUI.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.views.export import ExportTable, add_export_menu
from app.views.plot_style import CURVE_COLOURS, colours, font, scale, style_graphics_view, style_plot_item
from core.training.trainer import StepRecord


MAX_POINTS = 2000  # points kept per curve; a longer run merges neighbours (a plot is ~1,000 pixels wide)
LEGEND_POINT_SIZE = 8
LEGEND_ENTRIES_PER_LINE = 4  # a model with many blocks gets a legend of several short lines, never one long one


class Curve:
    """A growing (step, value) series behind one pyqtgraph curve, bounded however long the run.

    While the run is short every step is a point. When a curve would pass MAX_POINTS, neighbouring
    points merge in pairs (their mean, at the later step) and from then on each point is the mean of
    twice as many steps, so memory and drawing time stay the same at step 20,000 as at step 2,000."""

    def __init__(
        self,
        plot: pg.PlotItem,
        name: str,
        colour: str,
        width: float = 2.0,
        symbol: str | None = None,
        max_points: int | None = None,
    ) -> None:
        self.name = name
        self.max_points = max(2, max_points or MAX_POINTS)
        self.steps: list[int] = []  # each point's last step
        self.values: list[float] = []  # each point's mean value over its steps
        self.per_point = 1  # steps averaged into one point
        self._bucket: list[float] = []  # values of the steps not yet making a whole point
        self._bucket_step = 0  # the latest step in the bucket
        self.item = plot.plot(
            [],
            [],
            name=name,
            pen=pg.mkPen(colour, width=width),
            symbol=symbol,
            symbolSize=6,
            symbolBrush=colour,
            symbolPen=None,
        )
        self.item.setDownsampling(auto=True, method="peak")
        self.item.setClipToView(True)
        self._changed = True

    def append(self, step: int, value: float) -> None:
        self._bucket.append(value if math.isfinite(value) else np.nan)
        self._bucket_step = step
        self._changed = True
        if len(self._bucket) >= self.per_point:
            self.steps.append(step)
            self.values.append(sum(self._bucket) / len(self._bucket))
            self._bucket = []
            if len(self.steps) > self.max_points:
                self._merge_pairs()

    def _merge_pairs(self) -> None:
        """Halve the points: each pair becomes its mean at the later step; an odd last point waits in the bucket."""
        if len(self.steps) % 2:
            self._bucket = [self.values.pop()] * self.per_point  # the same weight as the steps it stands for
            self._bucket_step = self.steps.pop()
        values = np.asarray(self.values).reshape(-1, 2)  # (pairs, 2)
        self.values = values.mean(axis=1).tolist()
        self.steps = self.steps[1::2]
        self.per_point *= 2

    def drawn_points(self) -> tuple[np.ndarray, np.ndarray]:
        """The points as drawn: the kept ones, and the newest steps (not yet a whole point) as one more."""
        steps, values = self.steps, self.values
        if self._bucket:
            steps, values = [*steps, self._bucket_step], [*values, sum(self._bucket) / len(self._bucket)]
        return np.asarray(steps, dtype=float), np.asarray(values, dtype=float)

    def redraw(self) -> None:
        if not self._changed:
            return
        self.item.setData(*self.drawn_points(), connect="finite")
        self._changed = False

    def clear(self) -> None:
        self.steps.clear()
        self.values.clear()
        self._bucket = []
        self.per_point = 1
        self._changed = True

    def keep_until(self, step: int) -> None:
        """Forget points after `step` (a rollback rewrites the future)."""
        kept = sum(1 for s in self.steps if s <= step)
        del self.steps[kept:], self.values[kept:]
        self._bucket = []
        self._changed = True


class CurveLegend:
    """A legend under a plot's step axis, outside the plotted area, so it never hides a curve.

    pyqtgraph's own legend floats over the curves; this one is a row of the plot's layout (below the
    axis label), so it is part of the plot and of its PNG/SVG export."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.label = pg.LabelItem("", justify="left")
        plot.layout.addItem(self.label, 4, 1)
        self.entries: list[tuple[str, str, str]] = []  # (name, colour, marker)
        self.text_colour = colours(False)["text"]

    def add(self, name: str, colour: str, marker: str = "━━") -> None:
        self.entries.append((name, colour, marker))
        self.redraw()

    def clear(self) -> None:
        self.entries = []
        self.redraw()

    def redraw(self, text_colour: str | None = None) -> None:
        self.text_colour = text_colour or self.text_colour
        shown = [f"<span style='color:{colour}'>{marker}</span>&nbsp;{name}" for name, colour, marker in self.entries]
        lines = [
            "&nbsp;&nbsp;&nbsp;".join(shown[i : i + LEGEND_ENTRIES_PER_LINE])
            for i in range(0, len(shown), LEGEND_ENTRIES_PER_LINE)
        ]
        self.label.setText("<br>".join(lines), color=self.text_colour, size=f"{LEGEND_POINT_SIZE * scale():.0f}pt")
        self.label.setVisible(bool(shown))


def _plot(widget: pg.PlotWidget, title: str, y_label: str) -> pg.PlotItem:
    plot = widget.getPlotItem()
    plot.setTitle(title)
    plot.setLabel("bottom", "step")
    plot.setLabel("left", y_label)
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    widget.setMinimumSize(130, 110)  # three columns still fit a narrow studio (a 1280x720 screen)
    return plot


class LivePlots(QWidget):
    TITLE = "Training curves"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("livePlots")
        self.dark = False
        self.loss_widget = pg.PlotWidget(objectName="lossPlot")
        self.loss_widget.setToolTip(
            "Cross-entropy loss: lower means the model predicts the next token better. "
            "Validation loss is measured on text the model never trains on."
        )
        self.loss_plot = _plot(self.loss_widget, "Loss", "cross-entropy")
        self.loss_legend = CurveLegend(self.loss_plot)
        self.train_curve = Curve(self.loss_plot, "train (each batch)", CURVE_COLOURS[0], width=1.5)
        self.val_curve = Curve(self.loss_plot, "validation", CURVE_COLOURS[1], width=2.5, symbol="o")
        self.loss_legend.add(self.train_curve.name, CURVE_COLOURS[0])
        self.loss_legend.add(self.val_curve.name, CURVE_COLOURS[1], "━●━")
        self.log_scale = QCheckBox("log scale", objectName="lossLogScale")
        self.log_scale.setToolTip("Show the loss on a logarithmic axis (small late improvements become visible).")
        self.log_scale.toggled.connect(self._on_log_scale_changed)

        self.lr_widget = pg.PlotWidget(objectName="lrPlot")
        self.lr_widget.setToolTip("The learning rate the optimizer used: warmup, then cosine decay.")
        self.lr_curve = Curve(_plot(self.lr_widget, "Learning rate", "lr"), "lr", CURVE_COLOURS[2])

        self.grad_widget = pg.PlotWidget(objectName="gradNormPlot")
        self.grad_widget.setToolTip("Length of the gradient of each part of the model, before clipping.")
        self.grad_plot = _plot(self.grad_widget, "Gradient norm per part", "‖gradient‖")
        self.grad_legend = CurveLegend(self.grad_plot)  # the update plot's parts are the same, in the same colours
        self.update_widget = pg.PlotWidget(objectName="updateRatioPlot")
        self.update_widget.setToolTip(
            "How far each step moved a part's weights, relative to their size "
            "(about 1e-3 is healthy; much larger means the learning rate is too high)."
        )
        self.update_plot = _plot(self.update_widget, "Update ÷ weight", "ratio (log scale)")
        self.update_plot.setLogMode(y=True)
        self.update_plot.getAxis("left").enableAutoSIPrefix(False)  # "(x0.001)" next to a log axis misleads
        self.grad_curves: dict[str, Curve] = {}
        self.update_curves: dict[str, Curve] = {}

        self.sample_label = QLabel("Text sample", objectName="sampleTitle")
        self.sample_view = QPlainTextEdit(objectName="sampleText", readOnly=True)
        self.sample_view.setPlaceholderText("Every few steps the model writes a short sample here.")
        self.sample_view.setMaximumBlockCount(200)
        self.sample_view.setFont(font(11))

        self.markers = []
        for widget in (self.loss_widget, self.lr_widget, self.grad_widget, self.update_widget):
            marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colours(False)["accent"], width=2))
            marker.hide()
            widget.getPlotItem().addItem(marker, ignoreBounds=True)  # the axes follow the curves, not it
            self.markers.append(marker)
        add_export_menu(self.loss_widget, "loss", self.loss_table)
        add_export_menu(self.grad_widget, "gradient norms", lambda: self._curves_table(self.grad_curves))
        add_export_menu(self.update_widget, "update ratios", lambda: self._curves_table(self.update_curves))
        add_export_menu(self.lr_widget, "learning rate", lambda: self._curves_table({"lr": self.lr_curve}))
        for plot in (self.lr_widget, self.grad_widget, self.update_widget):
            plot.getPlotItem().setXLink(self.loss_plot)  # one step axis for all four: zoom one, zoom all
        self._layout()
        self.set_theme(False)

    def _layout(self) -> None:
        grid = QGridLayout()
        loss_box = QVBoxLayout()
        loss_box.addWidget(self.loss_widget, 1)
        loss_box.addWidget(self.log_scale, 0, Qt.AlignmentFlag.AlignRight)
        grid.addLayout(loss_box, 0, 0)
        grid.addWidget(self.lr_widget, 0, 1)
        grid.addWidget(self.grad_widget, 1, 0)
        grid.addWidget(self.update_widget, 1, 1)
        sample_box = QVBoxLayout()
        sample_box.addWidget(self.sample_label)
        sample_box.addWidget(self.sample_view, 1)
        grid.addLayout(sample_box, 0, 2, 2, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setColumnStretch(2, 2)
        self.setLayout(grid)

    # -- data --------------------------------------------------------------------------------------
    def add_records(self, records: list[StepRecord]) -> None:
        for record in records:
            if record.diverged:
                continue  # a refused step changed nothing; the message says so elsewhere
            self.train_curve.append(record.step, record.loss)
            self.lr_curve.append(record.step, record.lr)
            if record.val_loss is not None:
                self.val_curve.append(record.step, record.val_loss)
            for part, value in record.grad_norms.items():
                self._curve(self.grad_curves, self.grad_plot, part).append(record.step, value)
            for part, value in record.update_ratios.items():
                self._curve(self.update_curves, self.update_plot, part).append(record.step, value)
            if record.sample:
                self.sample_label.setText(f"Text sample at step {record.step}")
                self.sample_view.appendPlainText(f"── step {record.step} ──\n{record.sample}\n")

    def load_history(self, losses: dict | None) -> None:
        """Curves of a resumed run: {"train": [[step, loss], ...], "val": [...]}."""
        for key, curve in (("train", self.train_curve), ("val", self.val_curve)):
            for step, value in (losses or {}).get(key, []):
                curve.append(int(step), float(value))

    def _curve(self, curves: dict[str, Curve], plot: pg.PlotItem, part: str) -> Curve:
        if part not in curves:
            colour = CURVE_COLOURS[len(curves) % len(CURVE_COLOURS)]
            curves[part] = Curve(plot, part, colour, width=1.5)
            if plot is self.grad_plot:
                self.grad_legend.add(part, colour)
        return curves[part]

    def repaint(self) -> None:
        """Draw what arrived since the last repaint (the log axis is pyqtgraph's own setLogMode)."""
        for curve in self.all_curves():
            curve.redraw()

    def showEvent(self, event) -> None:
        """While training, plots out of sight are not drawn: catch up when the Curves tab comes back."""
        super().showEvent(event)
        self.repaint()

    def repaint_one_plot(self) -> None:
        """Bring one plot up to date, the next one on the next call: while training, the GUI thread
        then stops for one small plot at a time (~10 ms here) instead of all four at once."""
        plots = [
            [self.train_curve, self.val_curve],
            [self.lr_curve],
            list(self.grad_curves.values()),
            list(self.update_curves.values()),
        ]
        self._next_plot = (getattr(self, "_next_plot", -1) + 1) % len(plots)
        for curve in plots[self._next_plot]:
            curve.redraw()

    def all_curves(self) -> list[Curve]:
        return [
            self.train_curve,
            self.val_curve,
            self.lr_curve,
            *self.grad_curves.values(),
            *self.update_curves.values(),
        ]

    def clear(self) -> None:
        for curve in self.all_curves():
            curve.clear()
            curve.redraw()
        self.sample_view.clear()
        self.sample_label.setText("Text sample")
        self.show_marker(None)

    def keep_until(self, step: int) -> None:
        for curve in self.all_curves():
            curve.keep_until(step)
        self.repaint()

    def show_marker(self, step: int | None) -> None:
        """A vertical line at the step the timeline shows (None: hidden, following the live run)."""
        for marker in self.markers:
            marker.setVisible(step is not None)
            if step is not None:
                marker.setValue(step)

    def point_count(self) -> int:
        """Points on the training-loss curve as drawn."""
        x, _ = self.train_curve.item.getData()
        return 0 if x is None else len(x)

    # -- export and looks --------------------------------------------------------------------------
    def loss_table(self) -> ExportTable:
        """One row per step that has a point on either curve (after a long run a train point is a mean)."""
        train = dict(zip(*(list(a) for a in self.train_curve.drawn_points())))
        val = dict(zip(*(list(a) for a in self.val_curve.drawn_points())))
        steps = sorted(set(train) | set(val))
        values = np.array([[train.get(step, np.nan), val.get(step, np.nan)] for step in steps])
        return ExportTable(
            values.reshape(-1, 2),
            row_labels=[str(int(s)) for s in steps],
            column_labels=["train loss", "validation loss"],
            corner="step",
        )

    @staticmethod
    def _curves_table(curves: dict[str, Curve]) -> ExportTable:
        if not curves:
            return ExportTable(np.zeros((0, 0)))
        first = next(iter(curves.values()))
        values = np.array([curve.values[: len(first.steps)] for curve in curves.values()]).T
        return ExportTable(values, row_labels=[str(s) for s in first.steps], column_labels=list(curves), corner="step")

    def _on_log_scale_changed(self, log: bool) -> None:
        self.loss_plot.setLogMode(y=log)

    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        palette = colours(dark)
        for widget in (self.loss_widget, self.lr_widget, self.grad_widget, self.update_widget):
            style_graphics_view(widget, dark)
            style_plot_item(widget.getPlotItem(), dark)
        for marker in self.markers:
            marker.setPen(pg.mkPen(palette["accent"], width=2))
        for legend in (self.loss_legend, self.grad_legend):
            legend.redraw(palette["text"])
