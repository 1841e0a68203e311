"""Small plots the "why this next token?" panels share: labelled horizontal bars (top-10 tokens, MLP
contributions, a neuron's pushed-up tokens), each one BarGraphItem updated in place."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from .bar_plot import PercentAxis, RowLabelAxis
from .plot_style import colours, style_graphics_view, style_plot_item

BAR_HEIGHT = 0.7  # of a row
NEGATIVE = "#D55E00"  # bars below zero (colour-blind safe orange); above zero the theme's line colour


class LabelledBars(pg.PlotWidget):
    """Rows top to bottom, a token (or part) label on each, a bar from 0 to its value."""

    def __init__(self, object_name: str, x_label: str, percent: bool = False, longest_label: int = 16) -> None:
        axes = {"left": RowLabelAxis("left", longest_label)}
        if percent:
            axes["bottom"] = PercentAxis("bottom")
        super().__init__(axisItems=axes)
        self.setObjectName(object_name)
        item = self.getPlotItem()
        item.setMouseEnabled(False, False)
        item.hideButtons()
        item.invertY(True)
        item.disableAutoRange()
        item.setLabel("bottom", x_label)
        item.getAxis("left").setStyle(tickLength=0)
        for side in ("top", "right"):
            item.getAxis(side).enableAutoSIPrefix(False)
        self.bars = pg.BarGraphItem(x0=[], y=[], width=[], height=BAR_HEIGHT)
        self.addItem(self.bars)
        self.zero_line = pg.InfiniteLine(pos=0, angle=90)
        self.addItem(self.zero_line)
        self.labels: list[str] = []
        self._axis_labels: list[str] | None = None  # what the row axis shows
        self.values = np.zeros(0)
        self.dark = False
        self._drawn: tuple | None = None  # (labels, values, fixed_range) on screen: a keystroke often repeats them
        self.setMinimumHeight(140)

    def set_bars(self, labels: Sequence[str], values: Sequence[float], fixed_range: tuple | None = None) -> None:
        """One bar per label; the x range is `fixed_range` or fits the values (and 0)."""
        drawn = (list(labels), np.asarray(values, dtype=np.float64), fixed_range)
        if (
            self._drawn is not None
            and drawn[0] == self._drawn[0]
            and drawn[2] == self._drawn[2]
            and np.array_equal(drawn[1], self._drawn[1])
        ):
            return  # the same bars (a neuron's pushed-up tokens do not change with the prompt)
        self._drawn = drawn
        self.labels, self.values = list(labels), drawn[1]
        rows = len(self.labels)
        positive = QColor(colours(self.dark)["line"])
        brushes = [pg.mkBrush(positive if v >= 0 else QColor(NEGATIVE)) for v in self.values]
        self.bars.setOpts(
            x0=np.minimum(self.values, 0),
            y=np.arange(rows),
            width=np.abs(self.values),
            height=BAR_HEIGHT,
            brushes=brushes,
            pen=pg.mkPen(None),
        )
        item = self.getPlotItem()
        if self.labels != self._axis_labels:  # measuring the labels again is not free
            self._axis_labels = list(self.labels)
            item.getAxis("left").set_labels(self.labels)
        low = min(0.0, float(self.values.min(initial=0)))
        high = max(0.0, float(self.values.max(initial=0)))
        if fixed_range is None:
            room = 0.08 * (high - low or 1.0)
            fixed_range = (low - (room if low < 0 else 0), high + room)
        item.setRange(xRange=fixed_range, yRange=(-0.6, max(rows, 1) - 0.4), padding=0)

    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        self._axis_labels = None  # the font may have changed: measure again
        self._drawn = None  # and the colours: draw the bars again
        style_graphics_view(self, dark)
        style_plot_item(self.getPlotItem(), dark)
        self.zero_line.setPen(pg.mkPen(colours(dark)["axis"]))
        if self.labels:
            self.set_bars(self.labels, self.values)


def probability_bars(object_name: str) -> LabelledBars:
    return LabelledBars(object_name, "probability", percent=True)
