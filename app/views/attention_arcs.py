"""Attention as lines (like BertViz's head view): each token on the left reads from tokens on the right;
a line's opacity is how much. Hover a token to see only its lines.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from core.teaching.analysis import strongest_keys

from .export import ExportTable, add_export_menu
from .plot_style import LEFT_MIDDLE, RIGHT_MIDDLE, abbreviate, colours, font, text_widths

SMALLEST_DRAWN_WEIGHT = 0.03  # fainter lines are drawn together as one haze image (fast)
INVISIBLE_WEIGHT = 0.001  # a line this faint adds under 1/8 of a colour step to the haze: left out
HOVER_SMALLEST_WEIGHT = 0.005  # a hovered token shows nearly all of its lines
SMOOTHED_WEIGHT = 0.2  # lines at least this strong are antialiased
HAZE_SCALE = 2  # the faint lines' haze is drawn at 1/2 resolution
LABEL_POINT_SIZE = 10
LEFT, RIGHT = "query", "key"


class AttentionArcs(QWidget):
    token_hovered = Signal(str, int)  # ("query" or "key", index); ("", -1) when the mouse leaves

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 220)
        self.setMouseTracking(True)
        self._pattern = np.zeros((0, 0))
        self._labels: list[str] = []  # as drawn (long ones shortened)
        self._full_labels: list[str] = []
        self._hovered: tuple[str, int] = ("", -1)
        self._elided_cache: dict[tuple[str, int, bool], str] = {}
        self._haze_cache: tuple | None = None  # (key, QImage) of the faint lines last drawn
        self._pattern_version = 0  # counts set_pattern calls, for the haze cache
        self.dark = False
        add_export_menu(self, "attention lines", self.export_table)

    def sizeHint(self) -> QSize:
        return QSize(240, 320)

    # -- data ---------------------------------------------------------------------------------------
    def set_pattern(self, pattern: np.ndarray, labels) -> None:
        self._pattern = np.asarray(pattern)
        self._pattern_version += 1
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
        column = min(max(text_widths(font(LABEL_POINT_SIZE), self._labels), default=0) + 10, self.width() * 0.3)
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
        left_edge, right_edge, top, row_height = self._layout()
        self._paint_lines(painter, left_edge + 4, right_edge - 4, top, row_height)
        self._paint_labels(painter, left_edge, right_edge, top, row_height)

    def _paint_lines(self, painter: QPainter, x_from: float, x_to: float, top: float, row_height: float) -> None:
        """One line per (query, key), opacity = weight; a hovered token's lines on top, the rest faded.

        Lines of at least SMALLEST_DRAWN_WEIGHT are drawn one by one. The many fainter ones (a long,
        evenly spread row has hundreds) are painted together as one haze image, which costs
        milliseconds where drawing each would cost a large part of the frame.
        """
        palette = colours(self.dark)
        side, chosen = self._hovered
        mine = np.zeros_like(self._pattern, dtype=bool)
        if chosen >= 0:
            if side == LEFT:
                mine[chosen] = True
            else:
                mine[:, chosen] = True
        faded = 0.12 if chosen >= 0 else 1.0
        centres = top + (np.arange(len(self._pattern)) + 0.5) * row_height  # (T,) y of each token's row
        painter.setOpacity(faded)
        painter.setRenderHint(QPainter.SmoothPixmapTransform, True)
        painter.drawImage(
            QRectF(x_from, 0, x_to - x_from, self.height()),
            self._haze(centres, int(x_to - x_from), QColor(palette["line"])),
        )
        painter.setOpacity(1.0)
        strongest = float(self._pattern[mine].max()) if mine.any() else 1.0
        strongest = strongest or 1.0
        background = (self._pattern >= SMALLEST_DRAWN_WEIGHT) & ~mine
        highlighted = (self._pattern >= HOVER_SMALLEST_WEIGHT) & mine
        for selection, colour in ((background, QColor(palette["line"])), (highlighted, QColor(palette["accent"]))):
            queries, keys = np.nonzero(selection)
            weights = self._pattern[queries, keys].astype(np.float64)
            if selection is highlighted:  # relative to the token's strongest line, so all are readable
                alphas, strong = 0.15 + 0.85 * weights / strongest, np.ones(len(weights), dtype=bool)
            else:
                alphas, strong = weights * faded, weights >= SMOOTHED_WEIGHT
            alphas = np.clip(alphas, 0.0, 1.0)  # rounding must not push an opacity past 1
            starts, ends = centres[queries], centres[keys]
            for smooth in (False, True):  # thin lines, then the strong ones (same colour: order is free)
                painter.setRenderHint(QPainter.Antialiasing, smooth)  # smoothing is what costs most
                pen = QPen(colour, 2.5 if smooth else 1)  # one pen, recoloured per line: cheaper than a new one
                chosen = strong == smooth
                for alpha, start, end in zip(alphas[chosen].tolist(), starts[chosen].tolist(), ends[chosen].tolist()):
                    colour.setAlphaF(alpha)
                    pen.setColor(colour)
                    painter.setPen(pen)
                    painter.drawLine(QLineF(x_from, start, x_to, end))
        painter.setRenderHint(QPainter.Antialiasing, True)

    def _haze(self, centres: np.ndarray, width: int, colour: QColor) -> QImage:
        """The faint lines (weights below SMALLEST_DRAWN_WEIGHT) summed into one half-resolution image."""
        key = (self._pattern_version, width, self.height(), colour.rgb())
        if self._haze_cache is not None and self._haze_cache[0] == key:
            return self._haze_cache[1]
        columns, rows_out = max(width // HAZE_SCALE, 1), max(self.height() // HAZE_SCALE, 1)
        queries, keys = np.nonzero((self._pattern >= INVISIBLE_WEIGHT) & (self._pattern < SMALLEST_DRAWN_WEIGHT))
        weights = (self._pattern[queries, keys] / HAZE_SCALE).astype(np.float32)[:, None]  # (L, 1)
        along = (np.arange(columns, dtype=np.float32) + 0.5) / columns  # (W,) 0..1 left to right
        start = (centres[queries] / HAZE_SCALE).astype(np.float32)[:, None]  # (L, 1)
        end = (centres[keys] / HAZE_SCALE).astype(np.float32)[:, None]
        y = start + (end - start) * along  # (L, W) row of each line
        low = np.clip(y.astype(np.int32), 0, rows_out - 1)  # y >= 0: truncating floors
        lower_share = weights * (1 - (y - low))  # (L, W) a line's weight is split between the row it
        cells = (low * columns + np.arange(columns, dtype=np.int32)).ravel()  # crosses and the next: smooth
        size = (rows_out + 1) * columns  # one spare row below
        alpha = np.bincount(cells, lower_share.ravel(), minlength=size)
        alpha[columns:] += np.bincount(cells, (weights - lower_share).ravel(), minlength=size)[:-columns]
        alpha = alpha[: rows_out * columns]
        rgba = np.empty((rows_out, columns, 4), dtype=np.uint8)  # (H, W, RGBA)
        rgba[..., :3] = (colour.red(), colour.green(), colour.blue())
        rgba[..., 3] = np.clip(alpha.reshape(rows_out, columns) * 255, 0, 255).astype(np.uint8)
        image = QImage(rgba.data, columns, rows_out, 4 * columns, QImage.Format_RGBA8888).copy()
        self._haze_cache = (key, image)
        return image

    def _paint_labels(
        self, painter: QPainter, left_edge: float, right_edge: float, top: float, row_height: float
    ) -> None:
        palette = colours(self.dark)
        metrics = QFontMetrics(font(LABEL_POINT_SIZE))
        stride = max(1, math.ceil(metrics.height() / row_height))  # thin out labels that would overlap
        side, chosen = self._hovered
        related = self._related_tokens()
        plain, bold = font(LABEL_POINT_SIZE), font(LABEL_POINT_SIZE, bold=True)
        text, accent = QColor(palette["text"]), QColor(palette["accent"])
        box_height = max(row_height, metrics.height())
        highlighted_labels = []
        painter.setFont(plain)  # font and pen set once for the plain labels: they are not free per label
        painter.setPen(text)
        for index, label in enumerate(self._labels):
            y = self._row_centre(index, top, row_height)
            for column_side, rect, align in (
                (LEFT, QRectF(0, y - box_height / 2, left_edge - 4, box_height), RIGHT_MIDDLE),
                (
                    RIGHT,
                    QRectF(right_edge + 4, y - box_height / 2, self.width() - right_edge - 4, box_height),
                    LEFT_MIDDLE,
                ),
            ):
                highlighted = (column_side == side and index == chosen) or (column_side != side and index in related)
                if highlighted:
                    highlighted_labels.append((rect, align, label))
                elif not index % stride:
                    painter.drawText(rect, align, self._elided(label, int(rect.width()), False))
        painter.setFont(bold)
        painter.setPen(accent)
        for rect, align, label in highlighted_labels:
            painter.drawText(rect, align, self._elided(label, int(rect.width()), True))

    def _elided(self, label: str, width: int, bold: bool) -> str:
        """The label cut with '…' to fit `width` pixels (remembered: measuring text is slow)."""
        key = (label, width, bold)
        if key not in self._elided_cache:
            if len(self._elided_cache) > 4096:
                self._elided_cache.clear()
            metrics = QFontMetrics(font(LABEL_POINT_SIZE, bold=bold))
            self._elided_cache[key] = metrics.elidedText(label, Qt.ElideRight, width)
        return self._elided_cache[key]

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
        return ExportTable(
            self._pattern, row_labels=self._full_labels, column_labels=self._full_labels, corner="query \\ key"
        )
