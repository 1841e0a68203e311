"""A plot of horizontal probability bars, one row per token: the look the output and what-if panels share."""
from __future__ import annotations

import pyqtgraph as pg

from .token_axis import TokenAxis

LONGEST_ROW_LABEL = 40  # characters: the what-if rows say "token  12.0% → 3.4%"


class PercentAxis(pg.AxisItem):
    """Probabilities read as percentages: 0.25 -> '25%'."""

    def __init__(self, orientation: str, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)  # no "(x0.001)": the ticks already say "%"

    def tickStrings(self, values, scale, spacing):
        decimals = 0 if spacing >= 0.01 else 1
        return [f"{100 * value:.{decimals}f}%" for value in values]


def bar_plot(object_name: str, x_label: str) -> pg.PlotWidget:
    """Rows top to bottom, a percentage axis, token labels as left ticks; fixed (no mouse zoom)."""
    plot = pg.PlotWidget(axisItems={"bottom": PercentAxis("bottom"), "left": TokenAxis("left", LONGEST_ROW_LABEL)})
    plot.setObjectName(object_name)
    item = plot.getPlotItem()
    item.setMouseEnabled(False, False)
    item.hideButtons()
    item.invertY(True)  # row 0 (the most likely token) on top
    item.setLabel("bottom", x_label)
    item.getAxis("left").setStyle(tickLength=0)
    return plot


def set_row_labels(plot: pg.PlotWidget, labels: list[str], rows: int) -> None:
    """Label rows 0..len(labels)-1 and show exactly `rows` rows."""
    item = plot.getPlotItem()
    item.getAxis("left").set_labels(labels)
    item.setYRange(-0.6, rows - 0.4, padding=0)
