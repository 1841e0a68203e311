"""The next-token bars as one plot item: per row an outline (the model's probability), a solid bar (what
is left after temperature, top-k and top-p) and its value as text.

One item that paints everything itself costs a fraction of two BarGraphItems and ten TextItems, which
each re-laid out their text and re-recorded their pictures at every keystroke.

    bars = ProbabilityBars()
    plot.addItem(bars)
    bars.set_bars(outline=[0.6, 0.3], solid=[0.7, 0.3], texts=["70.0%", "30.0%"], cut=[False, False])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPen, QTransform

from .plot_style import LEFT_MIDDLE, RIGHT_MIDDLE, contrasting_text

OUTLINE_HEIGHT = 0.75  # of a row: the model's bar, drawn as an outline
SOLID_HEIGHT = 0.55  # of a row: the reshaped bar, filled, inside the outline
TEXT_GAP_PIXELS = 6  # between a bar's end and its value


class ProbabilityBars(pg.GraphicsObject):
    def __init__(self) -> None:
        super().__init__()
        self._outline = np.zeros(0)  # (rows,) the model's probabilities
        self._solid = np.zeros(0)  # (rows,) after temperature/top-k/top-p
        self._texts: list[str] = []  # each row's value, as printed
        self._cut: list[bool] = []  # rows top-k/top-p removed: their text is muted
        self._colours = {
            "outline": QColor("#6e6e73"),
            "solid": QColor("#2f6fde"),
            "text": QColor("#1d1d1f"),
            "muted": QColor("#6e6e73"),
        }

    # -- data -----------------------------------------------------------------------------------
    def set_bars(
        self, outline: Sequence[float], solid: Sequence[float], texts: Sequence[str], cut: Sequence[bool]
    ) -> None:
        self.prepareGeometryChange()
        self._outline = np.asarray(outline, dtype=np.float64)
        self._solid = np.asarray(solid, dtype=np.float64)
        self._texts, self._cut = list(texts), list(cut)
        self.update()

    def set_colours(self, outline: str, solid: str, text: str, muted: str) -> None:
        self._colours = {
            "outline": QColor(outline),
            "solid": QColor(solid),
            "text": QColor(text),
            "muted": QColor(muted),
        }
        self.update()

    def value_texts(self) -> list[str]:
        """The numbers printed beside the bars, top to bottom."""
        return list(self._texts)

    # -- drawing --------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        """The bars and, right of them, their numbers: up to the plot's right edge."""
        widest = max(float(self._outline.max(initial=0)), float(self._solid.max(initial=0)))
        visible = self.viewRect()
        right = max(widest, visible.right()) if visible is not None else widest
        return QRectF(0, -0.5, right, len(self._outline))

    def viewTransformChanged(self) -> None:
        super().viewTransformChanged()
        self.prepareGeometryChange()  # the plot's right edge moved, and the bounds reach it

    def paint(self, painter, option, widget) -> None:
        if not len(self._outline):
            return
        self._paint_bars(painter)
        self._paint_texts(painter)

    def _paint_bars(self, painter) -> None:
        """In data coordinates: x is probability, row r is centred on y = r."""
        outline_pen = QPen(self._colours["outline"], 1)
        outline_pen.setCosmetic(True)  # one pixel wide whatever the axes' scale
        painter.setPen(outline_pen)
        painter.setBrush(Qt.NoBrush)
        for row, width in enumerate(self._outline.tolist()):
            painter.drawRect(QRectF(0, row - OUTLINE_HEIGHT / 2, width, OUTLINE_HEIGHT))
        painter.setPen(Qt.NoPen)
        painter.setBrush(self._colours["solid"])
        for row, width in enumerate(self._solid.tolist()):
            painter.drawRect(QRectF(0, row - SOLID_HEIGHT / 2, width, SOLID_HEIGHT))

    def _paint_texts(self, painter) -> None:
        """In pixels: text must not stretch with the axes."""
        to_pixels = painter.transform()
        visible = self.viewRect()
        right_edge = to_pixels.map(QPointF(visible.right(), 0)).x() if visible is not None else float("inf")
        painter.resetTransform()
        painter.setFont(QFont())  # the application's font, as in the rest of the panel (bigger when presenting)
        for box, align, colour, text in self.text_placements(to_pixels, right_edge, QFontMetrics(painter.font())):
            painter.setPen(colour)
            painter.drawText(box, align, text)

    def text_placements(
        self, to_pixels: QTransform, right_edge: float, metrics: QFontMetrics
    ) -> list[tuple[QRectF, int, QColor, str]]:
        """(pixel box, alignment, colour, text) per row: right of the longer bar, or inside the solid bar
        when the plot's right edge would cut it."""
        placements = []
        row_height = metrics.height()
        for row, (text, cut) in enumerate(zip(self._texts, self._cut)):
            end = to_pixels.map(QPointF(max(self._outline[row], self._solid[row]), row))
            width = metrics.horizontalAdvance(text) + 2
            if end.x() + TEXT_GAP_PIXELS + width <= right_edge:
                box = QRectF(end.x() + TEXT_GAP_PIXELS, end.y() - row_height / 2, width, row_height)
                placements.append((box, LEFT_MIDDLE, self._colours["muted" if cut else "text"], text))
            else:  # a bar reaching the edge: its number goes inside it, in a colour that reads on it
                inside = to_pixels.map(QPointF(self._solid[row], row))
                box = QRectF(inside.x() - TEXT_GAP_PIXELS - width, inside.y() - row_height / 2, width, row_height)
                placements.append((box, RIGHT_MIDDLE, contrasting_text(self._colours["solid"]), text))
        return placements
