"""An axis that names rows or columns with tokens, drawn directly (pyqtgraph's string ticks re-measure
and re-record every label whenever they change, which is at every keystroke here).

    axis = TokenAxis("left")
    axis.set_labels(["The", " cat", " sat"])   # row 0 at the top of an inverted view
    axis.set_highlight(1)                      # the hovered row in bold, accent colour
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QFontMetrics, QPen

from .plot_style import (
    CENTRE_TOP,
    LEFT_MIDDLE,
    RIGHT_MIDDLE,
    TICK_POINT_SIZE,
    abbreviate,
    colours,
    font,
    shared_prefix,
    text_widths,
)


MIN_TICK_POINT_SIZE = 7  # labels shrink down to this before every other one is left out
NUMBER_OVERHANG = 6  # pixels a number at either end of a numbered axis may reach past it, rather than vanish


class TokenAxis(pg.AxisItem):
    """An axis that can show one text label per row/column (tokens), thinned out when they would overlap.

    Bottom labels are turned upright when they are longer than two characters, so no token is cut.
    Without labels it is an ordinary numeric axis (e.g. dimensions).
    """

    def __init__(self, orientation: str, longest_label: int = 12, extent_step: int = 1) -> None:
        super().__init__(orientation)
        self._longest_label = longest_label  # characters; longer labels are cut with "…"
        self._extent_step = extent_step  # pixels; the room for labels grows in these steps, so labels
        #                                       that change often do not re-lay out the plot for a pixel or two
        self.enableAutoSIPrefix(False)  # rows and columns are counted, never "×1e3"; and the axis title
        #                                  is then not re-typeset on every change of range
        self._labels: list[str] | None = None
        self._widths: list[int] = []  # pixel width of each label in the tick font
        self._given: list[str] = []  # the labels as given (before shortening), to see which are new
        self._measured_in = ""  # the key of the font _widths were measured in
        self._highlight = -1
        self._accent = QColor(colours(False)["accent"])
        self._upright = False
        self._extent: int | None = None  # width (or height) set for the labels; None: pyqtgraph's own
        self.drawn: tuple[list[int], int] = ([], TICK_POINT_SIZE)  # last paint: (label indices, point size)
        if orientation in ("bottom", "top"):  # numbered: the first number ("0") sits half a cell from the
            self.setStyle(hideOverlappingLabels=NUMBER_OVERHANG)  # edge and may overhang it a little

    def set_labels(self, labels: Sequence[str] | None) -> None:
        if labels is None:
            self._labels, self._given, self._widths = None, [], []
            self._set_extent(None)
        else:
            labels = list(labels)
            tick_font = self.tick_font()
            font_key = tick_font.key()
            # A keystroke at the end of the prompt adds or removes the last label: keep the others'
            # shortened text and measured width (measured in this font), do only the new ones.
            kept = shared_prefix(self._given, labels) if font_key == self._measured_in else 0
            new = [abbreviate(label, self._longest_label) for label in labels[kept:]]
            self._labels = (self._labels or [])[:kept] + new
            self._widths = self._widths[:kept] + text_widths(tick_font, new)
            self._given, self._measured_in = labels, font_key
            self._upright = self.orientation in ("bottom", "top") and max(map(len, self._labels), default=0) > 2
            longest = max(self._widths, default=0)
            metrics = QFontMetrics(tick_font)
            across = longest if (self.orientation in ("left", "right") or self._upright) else metrics.height()
            label_room = metrics.height() + 6 if self.label.isVisible() else 0
            self._set_extent(across + 12 + label_room)
        self.picture = None
        self.update()

    def set_highlight(self, index: int, accent: QColor | None = None) -> None:
        if accent is not None:
            self._accent = accent
        if index != self._highlight:
            self._highlight = index
            self.update()

    def _set_extent(self, pixels: float | None) -> None:
        pixels = None if pixels is None else -(-int(pixels) // self._extent_step) * self._extent_step  # rounded up
        if pixels == self._extent:
            return  # unchanged: no need to lay the plot out again
        self._extent = pixels
        if self.orientation in ("left", "right"):
            self.setWidth(pixels)
        else:
            self.setHeight(pixels)

    def tick_font(self):
        return self.style["tickFont"] or font(TICK_POINT_SIZE)

    # -- drawing ------------------------------------------------------------------------------------
    def paint(self, painter, option, widget) -> None:
        if self._labels is None:
            super().paint(painter, option, widget)
            return
        bounds = self.mapRectFromParent(self.geometry())
        vertical = self.orientation in ("left", "right")
        length = bounds.height() if vertical else bounds.width()
        first, last = self.range
        if length <= 0 or first == last:
            return
        pixels_per_cell = length / abs(last - first)
        point_size, needed = self._fitting_size(pixels_per_cell, vertical)
        metrics = QFontMetrics(font(point_size))
        stride = max(1, math.ceil(needed / pixels_per_cell))

        def position(index: int) -> float:
            fraction = (index - first) / (last - first)
            return length * (1 - fraction) if vertical else length * fraction

        painter.setRenderHint(painter.RenderHint.TextAntialiasing, True)
        painter.setPen(self.pen())
        if vertical:
            edge = bounds.right() if self.orientation == "left" else bounds.left()
            painter.drawLine(QPointF(edge, 0), QPointF(edge, length))
        else:
            edge = bounds.top() if self.orientation == "bottom" else bounds.bottom()
            painter.drawLine(QPointF(0, edge), QPointF(length, edge))
        low, high = sorted((first, last))
        visible = range(max(0, math.ceil(low)), min(len(self._labels), math.floor(high) + 1))
        every_stride = range(-(-visible.start // stride) * stride, visible.stop, stride)  # multiples of stride
        shown = [
            index for index in every_stride if not (self._highlight >= 0 and abs(index - self._highlight) < stride)
        ]
        self.drawn = (shown, point_size)
        if self._upright:  # bottom labels read upwards, ending at the axis: draw them all in turned axes
            painter.save()
            painter.translate(0, edge + 6)
            painter.rotate(-90)
        painter.setFont(font(point_size))  # fonts and pens set once: they are not free per label
        painter.setPen(self.textPen())
        for index in shown:
            self._draw_label(painter, index, position(index), edge, metrics.height(), False)
        if 0 <= self._highlight < len(self._labels) and self._highlight in visible:
            painter.setFont(font(point_size, bold=True))
            painter.setPen(QPen(self._accent))
            self._draw_label(painter, self._highlight, position(self._highlight), edge, metrics.height(), True)
        if self._upright:
            painter.restore()

    def _fitting_size(self, pixels_per_cell: float, vertical: bool) -> tuple[int, float]:
        """The largest point size (TICK_POINT_SIZE down to MIN_TICK_POINT_SIZE) at which every label has
        its cell, and the pixels one label then needs; below the minimum, the caller leaves labels out."""
        widest = max(self._widths, default=0)  # measured in the tick font
        for point_size in range(TICK_POINT_SIZE, MIN_TICK_POINT_SIZE - 1, -1):
            shrink = point_size / TICK_POINT_SIZE
            if vertical or self._upright:
                needed = QFontMetrics(font(point_size)).height() * 0.9  # letters touch only at their accents
            else:
                needed = widest * shrink + 6
            if needed <= pixels_per_cell:
                break
        return point_size, needed

    def _draw_label(self, painter, index: int, at: float, edge: float, height: int, highlighted: bool) -> None:
        text = self._labels[index]
        width, gap = self._widths[index] + 8, 6
        if highlighted:
            width += width // 4  # bold is wider
        if self.orientation == "left":
            painter.drawText(QRectF(edge - gap - width, at - height / 2, width, height), RIGHT_MIDDLE, text)
        elif self.orientation == "right":
            painter.drawText(QRectF(edge + gap, at - height / 2, width, height), LEFT_MIDDLE, text)
        elif self._upright:  # in the turned axes of paint(): x runs up from the axis, y along it
            painter.drawText(QRectF(-width, at - height / 2, width, height), RIGHT_MIDDLE, text)
        else:
            painter.drawText(QRectF(at - width / 2, edge + gap / 2, width, height), CENTRE_TOP, text)
