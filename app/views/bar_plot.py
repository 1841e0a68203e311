"""A plot of horizontal probability bars, one row per token: the look the output and what-if panels share."""

from __future__ import annotations

from collections import deque

import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics, QPicture

from .token_axis import TokenAxis

LONGEST_ROW_LABEL = 40  # characters: the what-if rows say "token  12.0% → 3.4%"
ROW_LABEL_ROOM_STEP = 16  # pixels: the label column widens in steps, not for every new top-10 token
ROW_MARGIN = 0.1  # of a row, left empty above the first row and below the last
ROOM_REMEMBERED = 8  # label sets: the row-label column is as wide as the widest of the last few needed


class RowLabelAxis(TokenAxis):
    """Row labels (tokens) that change on every keystroke: the column they take keeps the width of the
    widest of the last ROOM_REMEMBERED label sets. Narrowed at once, it made the plot lay itself out
    again, move every bar and repaint whole whenever a keystroke's top tokens were a little shorter than
    the last ones (typing "a" then deleting it flipped the next-token column between two widths)."""

    def __init__(self, orientation: str, longest_label: int = 12, extent_step: int = 1) -> None:
        super().__init__(orientation, longest_label, extent_step)
        self._recent_rooms: deque = deque(maxlen=ROOM_REMEMBERED)  # (tick font, pixels) of the newest sets

    def _set_extent(self, pixels: float | None) -> None:
        tick_font = self.tick_font().toString()
        if pixels is None or any(font_of != tick_font for font_of, _ in self._recent_rooms):
            self._recent_rooms.clear()  # no labels, or a new font (zoom, theme): start afresh
        if pixels is not None:
            self._recent_rooms.append((tick_font, pixels))
            pixels = max(room for _, room in self._recent_rooms)
        super()._set_extent(pixels)


class PercentAxis(pg.AxisItem):
    """Probabilities read as percentages: 0.25 -> '25%'.

    The next-token plot snaps its range to a few values (0–5% … 0–100%) and switches between them as
    you type, so the drawn axis of each range is kept instead of being worked out again every time.
    """

    KEPT_DRAWINGS = 16

    def __init__(self, orientation: str, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)  # no "(x0.001)": the ticks already say "%"
        self._drawings: dict[tuple, QPicture] = {}  # what decides the picture -> the picture

    def tickStrings(self, values, scale, spacing):
        decimals = decimals_for_step(100 * spacing)
        return [f"{100 * value:.{decimals}f}%" for value in values]

    def paint(self, painter, option, widget) -> None:
        if self.picture is None:
            key = (
                tuple(self.range),
                self.size().toTuple(),
                self.pen().color().rgba(),
                self.textPen().color().rgba(),
                self.style["tickFont"].toString() if self.style["tickFont"] else "",
            )
            self.picture = self._drawings.get(key)
            if self.picture is None:
                super().paint(painter, option, widget)  # draws and sets self.picture
                if len(self._drawings) >= self.KEPT_DRAWINGS:
                    self._drawings.clear()
                self._drawings[key] = self.picture
                return
        self.picture.play(painter)


def decimals_for_step(step: float, most: int = 3) -> int:
    """The fewest decimals that write a tick step exactly (2 -> 0, 0.5 -> 1, 0.025 -> 3), so ticks 0.025
    apart never read alike ("-0.1%", "-0.1%", "-0.1%" for -0.125, -0.1, -0.075 with one decimal)."""
    for decimals in range(most + 1):
        scaled = abs(step) * 10**decimals
        if abs(scaled - round(scaled)) < 1e-6 * max(1.0, scaled):
            return decimals
    return most


def bar_plot(object_name: str, x_label: str) -> pg.PlotWidget:
    """Rows top to bottom, a percentage axis, token labels as left ticks; fixed (no mouse zoom)."""
    row_axis = RowLabelAxis("left", LONGEST_ROW_LABEL, ROW_LABEL_ROOM_STEP)
    plot = pg.PlotWidget(axisItems={"bottom": PercentAxis("bottom"), "left": row_axis})
    plot.setObjectName(object_name)
    item = plot.getPlotItem()
    item.setMouseEnabled(False, False)
    item.hideButtons()
    item.invertY(True)  # row 0 (the most likely token) on top
    # The ranges are always set by hand (the probability scale, the rows). Left on auto before the first
    # snapshot, the view fits bars whose numbers reach its own right edge: it widens, they reach further,
    # and it repaints without end (hundreds of paints a second, fighting the first trace for the CPU).
    item.disableAutoRange()
    item.setRange(xRange=(0, 1), yRange=(-0.5, 0.5), padding=0)
    item.setLabel("bottom", x_label)
    item.getAxis("left").setStyle(tickLength=0)
    for side in ("top", "right"):  # hidden, but linked to the view: spare them re-typesetting their
        item.getAxis(side).enableAutoSIPrefix(False)  # titles on every change of range
    return plot


def set_row_labels(plot: pg.PlotWidget, labels: list[str], rows: int) -> None:
    """Label rows 0..len(labels)-1 and show exactly `rows` rows."""
    item = plot.getPlotItem()
    item.getAxis("left").set_labels(labels)
    item.setYRange(-0.5 - ROW_MARGIN, rows - 0.5 + ROW_MARGIN, padding=0)  # row r is centred on y = r


def keep_room_for_rows(plot: pg.PlotWidget, rows: int) -> None:
    """The plot never gets shorter than `rows` labelled rows plus its percentage axis: a squeezed panel
    loses rows, never their labels."""
    item = plot.getPlotItem()
    label_height = QFontMetrics(item.getAxis("left").tick_font()).height()
    axis_height = 3 * QFontMetrics(item.getAxis("bottom").style["tickFont"] or plot.font()).height()
    plot.setMinimumHeight(int(label_height * (rows + 2 * ROW_MARGIN) + axis_height) + 4)


def rows_that_fit(plot: pg.PlotWidget, fewest: int, most: int) -> int:
    """How many rows (between fewest and most) the plot has room for, each as tall as its label."""
    item = plot.getPlotItem()
    label_height = QFontMetrics(item.getAxis("left").tick_font()).height()
    rows = item.getViewBox().height() / label_height - 2 * ROW_MARGIN
    return max(fewest, min(most, int(rows)))
