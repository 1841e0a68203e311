"""The colour scale beside a heatmap: which colour is which number."""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFontMetrics

from .plot_style import colormap, font

WIDTHS_REMEMBERED = 8  # levels: the numbered axis is as wide as the widest of the last few needed


class ColourBar:
    """The colour scale beside a heatmap, level with its matrix: a thin strip and a numbered axis.

    (Lighter than pyqtgraph's ColorBarItem, which is a whole PlotItem: a panel has many of these.)
    """

    def __init__(self, plot: pg.PlotItem, colormap_name: str) -> None:
        self.view = pg.ViewBox(enableMenu=False, enableMouse=False, defaultPadding=0.0)
        self.view.setFixedWidth(14)
        self.view.setMinimumHeight(0)  # follow the matrix's height, never hold it up
        gradient = np.linspace(0.0, 1.0, 256, dtype=np.float32)[:, None]  # (256, 1): low at the bottom
        self.image = pg.ImageItem(gradient, axisOrder="row-major", levels=(0.0, 1.0))
        self.image.setColorMap(colormap(colormap_name))
        self.view.addItem(self.image)
        self.axis = pg.AxisItem("right")
        self.axis.enableAutoSIPrefix(False)  # the ticks are labelled below, in full
        self.axis.linkToView(self.view)
        # Into the plot's own grid, in the row of its matrix (row 2), right of the right axis.
        plot.layout.setColumnFixedWidth(3, 8)
        plot.layout.addItem(self.view, 2, 4)
        plot.layout.addItem(self.axis, 2, 5)
        self._levels: tuple[float, float] = (0.0, 0.0)
        self._tick_labels: list[str] = []
        self._tick_count = 5
        self._recent_widths: deque = deque(maxlen=WIDTHS_REMEMBERED)  # (tick font, levels, axis width)
        self.view.sigResized.connect(self._on_resized)
        self.setLevels((0.0, 1.0))

    def setLevels(self, levels: tuple[float, float]) -> None:
        low, high = float(levels[0]), float(levels[1])
        if (low, high) == self._levels:
            return  # redrawing the axis is not free
        self._levels = (low, high)
        self.image.setRect(QRectF(0.0, low, 1.0, high - low))
        self.view.setRange(xRange=(0.0, 1.0), yRange=(low, high), padding=0.0)
        self._label_ticks()

    def _ticks(self, count: int) -> list[tuple[float, str]]:
        """`count` evenly spaced ticks from low to high, ends included, each with its label."""
        low, high = self._levels
        return [
            (float(v), f"{v:.3g}" if abs(v) > 1e-9 * max(abs(low), abs(high)) else "0")
            for v in np.linspace(low, high, count)
        ]

    def _label_ticks(self) -> None:
        """Five labelled ticks, ends and middle included; three or two on a bar too short for five
        (their numbers would overlap)."""
        ticks = self._ticks(self._tick_count)
        self.axis.setTicks([ticks])
        self._tick_labels = [label for _, label in ticks]
        self._fit_axis()

    def _on_resized(self, *_ignored) -> None:
        line = QFontMetrics(self.axis.style["tickFont"] or font()).height()
        height = self.view.height()
        count = next((n for n in (5, 3) if height >= (n - 1) * line * 1.5), 2)
        if count != self._tick_count:
            self._tick_count = count
            self._label_ticks()

    def tick_labels(self) -> list[str]:
        return list(self._tick_labels)

    def _fit_axis(self) -> None:
        """Wide enough for the widest label: pyqtgraph silently drops a label that does not fit.

        Measured on all five labels (the three and two a short bar shows are among them), however many
        are shown: a width that followed the count would feed back through the layout (fewer ticks,
        narrower bar, a wider matrix, a title on fewer lines, a taller bar, more ticks...) and resize
        the heatmap for ever, hundreds of times a second."""
        tick_font = self.axis.style["tickFont"] or font()
        metrics = QFontMetrics(tick_font)
        widest = max((metrics.horizontalAdvance(label) for _, label in self._ticks(5)), default=0)
        self.axis.setWidth(self._kept_width(tick_font.toString(), widest + 18))

    def _kept_width(self, tick_font: str, width: int) -> int:
        """The widest of the last WIDTHS_REMEMBERED levels' widths: a range that changes on every keystroke
        (attribution's) makes labels a little narrower or wider each time, and each new width laid the
        heatmap out again (its matrix resized, its cell numbers and title placed again, all repainted)."""
        if any(font_of != tick_font for font_of, _, _ in self._recent_widths):
            self._recent_widths.clear()  # a new font (zoom, theme): measure afresh
        if not self._recent_widths or self._recent_widths[-1][1] != self._levels:
            self._recent_widths.append((tick_font, self._levels, width))
        return max(kept for _, _, kept in self._recent_widths)

    def set_font(self, tick_font) -> None:
        self.axis.setStyle(tickFont=tick_font)
        self._fit_axis()
        self._on_resized()  # taller numbers may need fewer ticks

    def levels(self) -> tuple[float, float]:
        return self._levels

    def setColorMap(self, lookup: pg.ColorMap) -> None:
        self.image.setColorMap(lookup)
