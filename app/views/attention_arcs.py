"""Attention as lines (like BertViz's head view): each token on the left reads from tokens on the right;
a line's opacity is how much. Hover a token to see only its lines.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from core.analysis import strongest_keys

from .export import ExportTable, add_export_menu
from .plot_style import abbreviate, colours, font

SMALLEST_DRAWN_WEIGHT = 0.01   # lighter lines are invisible anyway; skipping them keeps painting fast
LABEL_POINT_SIZE = 10
LEFT, RIGHT = "query", "key"


class AttentionArcs(QWidget):
    token_hovered = Signal(str, int)  # ("query" or "key", index); ("", -1) when the mouse leaves

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 220)
        self.setMouseTracking(True)
        self._pattern = np.zeros((0, 0))
        self._labels: list[str] = []        # as drawn (long ones shortened)
        self._full_labels: list[str] = []
        self._hovered: tuple[str, int] = ("", -1)
        self.dark = False
        add_export_menu(self, "attention lines", self.export_table)

    # -- data ---------------------------------------------------------------------------------------
    def set_pattern(self, pattern: np.ndarray, labels) -> None:
        self._pattern = np.asarray(pattern)
        self._full_labels = list(labels)
        self._labels = [abbreviate(label, 14) for label in labels]
        self.update()

    def shown_weights(self) -> np.ndarray:
        return self._pattern

    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        self.update()

    def set_hovered(self, side: str, index: int) -> None:
        """Show only the lines of one token: its keys ("query", i) or its readers ("key", j)."""
        if (side, index) != self._hovered:
            self._hovered = (side, index)
            self.update()
            self.token_hovered.emit(side, index)

    # -- geometry -----------------------------------------------------------------------------------
    def _layout(self) -> tuple[float, float, float, float]:
        """(left column's right edge, right column's left edge, top, row height)."""
        metrics = QFontMetrics(font(LABEL_POINT_SIZE))
        column = min(max((metrics.horizontalAdvance(label) for label in self._labels), default=0) + 10,
                     self.width() * 0.3)
        top, bottom = 8.0, 8.0
        rows = max(len(self._labels), 1)
        return column, self.width() - column, top, (self.height() - top - bottom) / rows

    def _row_centre(self, index: int, top: float, row_height: float) -> float:
        return top + (index + 0.5) * row_height

    def token_at(self, position: QPointF) -> tuple[str, int]:
        if not self._labels:
            return "", -1
        _, _, top, row_height = self._layout()
        index = math.floor((position.y() - top) / row_height)
        if not 0 <= index < len(self._labels):
            return "", -1
        return (LEFT if position.x() < self.width() / 2 else RIGHT), index

    # -- painting -----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        palette = colours(self.dark)
        painter.fillRect(self.rect(), QColor(palette["background"]))
        if not self._labels:
            return
        painter.setRenderHint(QPainter.Antialiasing)
        left_edge, right_edge, top, row_height = self._layout()
        self._paint_lines(painter, left_edge + 4, right_edge - 4, top, row_height)
        self._paint_labels(painter, left_edge, right_edge, top, row_height)

    def _paint_lines(self, painter: QPainter, x_from: float, x_to: float, top: float, row_height: float) -> None:
        palette = colours(self.dark)
        side, chosen = self._hovered
        base, strong = QColor(palette["line"]), QColor(palette["accent"])
        rows, cols = np.nonzero(self._pattern >= SMALLEST_DRAWN_WEIGHT)
        for query, key in zip(rows.tolist(), cols.tolist()):
            weight = float(self._pattern[query, key])
            mine = (side == LEFT and query == chosen) or (side == RIGHT and key == chosen)
            colour = QColor(strong if mine else base)
            faded = chosen >= 0 and not mine
            colour.setAlphaF(weight * (0.12 if faded else 1.0))
            painter.setPen(QPen(colour, 3 if mine else 2))
            painter.drawLine(QPointF(x_from, self._row_centre(query, top, row_height)),
                             QPointF(x_to, self._row_centre(key, top, row_height)))

    def _paint_labels(self, painter: QPainter, left_edge: float, right_edge: float, top: float,
                      row_height: float) -> None:
        palette = colours(self.dark)
        metrics = QFontMetrics(font(LABEL_POINT_SIZE))
        stride = max(1, math.ceil(metrics.height() / row_height))  # thin out labels that would overlap
        side, chosen = self._hovered
        related = self._related_tokens()
        for index, label in enumerate(self._labels):
            y = self._row_centre(index, top, row_height)
            box_height = max(row_height, metrics.height())
            for column_side, rect, align in (
                (LEFT, QRectF(0, y - box_height / 2, left_edge - 4, box_height), Qt.AlignRight),
                (RIGHT, QRectF(right_edge + 4, y - box_height / 2, self.width() - right_edge - 4, box_height),
                 Qt.AlignLeft),
            ):
                highlighted = (column_side == side and index == chosen) or (column_side != side and index in related)
                if index % stride and not highlighted:
                    continue
                painter.setFont(font(LABEL_POINT_SIZE, bold=highlighted))
                painter.setPen(QColor(palette["accent"] if highlighted else palette["text"]))
                text = QFontMetrics(painter.font()).elidedText(label, Qt.ElideRight, int(rect.width()))
                painter.drawText(rect, int(align | Qt.AlignVCenter), text)

    def _related_tokens(self) -> set[int]:
        """Tokens at the other end of the hovered token's three strongest lines."""
        side, chosen = self._hovered
        if chosen < 0:
            return set()
        weights = self._pattern[chosen] if side == LEFT else self._pattern[:, chosen]
        return {index for index, weight in strongest_keys(weights, 3) if weight >= SMALLEST_DRAWN_WEIGHT}

    # -- mouse --------------------------------------------------------------------------------------
    def mouseMoveEvent(self, event) -> None:
        side, index = self.token_at(event.position())
        self.set_hovered(side, index)
        if index >= 0:
            QToolTip.showText(event.globalPosition().toPoint(), self.describe(side, index), self)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        self.set_hovered("", -1)
        super().leaveEvent(event)

    def describe(self, side: str, index: int) -> str:
        """One sentence about a token's strongest lines, with the weights."""
        label = self._labels[index]
        if side == LEFT:
            strongest = strongest_keys(self._pattern[index], 3)
            parts = ", ".join(f"‘{self._labels[j]}’ {weight:.2f}" for j, weight in strongest if weight > 0)
            return f"‘{label}’ reads most from {parts}"
        strongest = strongest_keys(self._pattern[:, index], 3)
        parts = ", ".join(f"‘{self._labels[i]}’ {weight:.2f}" for i, weight in strongest if weight > 0)
        return f"‘{label}’ is read most by {parts}" if parts else f"No token reads from ‘{label}’"

    def export_table(self) -> ExportTable:
        return ExportTable(self._pattern, row_labels=self._full_labels, column_labels=self._full_labels,
                           corner="query \\ key")
