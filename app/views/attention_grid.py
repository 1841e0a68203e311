"""Small multiples: every head of every layer as a thumbnail of its attention pattern (BertViz's
model view); click a thumbnail to open that head.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from core.teaching.analysis import all_patterns

from .export import ExportTable, add_export_menu
from .plot_style import CENTRE_MIDDLE, PROBABILITY_MAP, SIGNED_MAP, colormap, colours, font


def coloured(patterns: np.ndarray, signed: bool = False) -> np.ndarray:
    """Weights in [0, 1] (..., T, T) -> RGBA (..., T, T, 4) in the probability colour map, binned as
    pyqtgraph bins levels (0, 1), so the picture is the same; one numpy step for all heads instead
    of a colour table per thumbnail. signed: differences of weights, on the diverging map centred on 0
    and scaled to the largest change of any head (a few hundredths would be invisible on ±1)."""
    finite = np.nan_to_num(patterns, nan=0.0, posinf=1.0, neginf=0.0)  # a diverged model's NaNs show as 0
    if signed:
        largest = float(np.abs(finite).max(initial=0.0)) or 1.0
        finite = (finite / largest + 1.0) / 2.0  # [-largest, largest] -> [0, 1]: 0 in the middle of the map
    index = np.clip((finite * 256).astype(np.int32), 0, 255)
    packed = _lookup_table(SIGNED_MAP if signed else PROBABILITY_MAP).view(np.uint32)[:, 0]  # (256,) RGBA words
    return packed[index].view(np.uint8).reshape(*index.shape, 4)  # one look-up per cell, not four


def max_pooled(patterns: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """(..., T, T) -> (..., at most rows, at most columns): each output cell is the largest weight in
    its block of cells. Max, not mean: a head's pattern is mostly near-zero with a few strong cells
    (the previous-token diagonal, an induction stripe); a mean over a 17x17 block would fade such a
    stripe to 1/17 of its weight, and the max keeps it as bright as it is, which is what a learner
    scans the grid for. Blocks have one size, block_size(T, rows) rows by block_size(T, columns)
    columns (the last may be shorter), so a token typed at the end changes only the last blocks (see
    PooledPatterns); with rows == columns == T nothing changes."""
    return _pooled_in_blocks(patterns, block_size(patterns.shape[-2], rows), block_size(patterns.shape[-1], columns))


def block_size(length: int, pixels: int) -> int:
    """Cells per block so that `length` cells fit in `pixels` (each block one pixel or more)."""
    return max(1, math.ceil(length / max(pixels, 1)))


def _pooled_in_blocks(patterns: np.ndarray, block_rows: int, block_columns: int) -> np.ndarray:
    """(..., R, C) -> (..., ceil(R / block_rows), ceil(C / block_columns)), the max of each block."""
    pooled = patterns
    if block_rows > 1 and pooled.shape[-2]:
        pooled = np.maximum.reduceat(pooled, np.arange(0, pooled.shape[-2], block_rows), axis=-2)
    if block_columns > 1 and pooled.shape[-1]:
        pooled = np.maximum.reduceat(pooled, np.arange(0, pooled.shape[-1], block_columns), axis=-1)
    return pooled


class PooledPatterns:
    """Every head's pattern of a trace, max-pooled (as max_pooled does), kept from one trace to the
    next: where the new trace extends the one pooled before (Trace.lineage), its first tokens' rows
    and columns are unchanged, so only the blocks holding a changed cell are pooled again: the last
    block rows in full, and in the rows above them the last block columns (their new keys). A token
    typed at 512 tokens reads about 2 x 18 x 512 cells a head instead of 512 x 512."""

    def __init__(self) -> None:
        self._pooled: np.ndarray | None = None  # (L, nh, rows, columns) of the trace pooled last
        self._blocks: tuple[int, int] | None = None
        self._lineage: object = None
        self._ids = np.zeros(0, dtype=np.int64)

    def of(self, trace, n_layers: int, rows: int, columns: int) -> np.ndarray:
        """(n_layers, n_heads, rows', columns'): max_pooled(all_patterns(trace, n_layers), rows, columns)."""
        ids = trace.ids[0].numpy()
        T = len(ids)
        blocks = (block_size(T, rows), block_size(T, columns))
        shared = 0
        if self._pooled is not None and self._blocks == blocks and trace.lineage is self._lineage:
            shared = _shared_prefix(self._ids, ids)
        kept_rows = shared // blocks[0]  # whole blocks left as they were
        kept_columns = shared // blocks[1] if kept_rows else 0
        first_row, first_column = kept_rows * blocks[0], kept_columns * blocks[1]
        layers = []
        for layer in range(n_layers):
            pattern = trace[f"blocks.{layer}.attn.pattern"][0]  # (nh, T, T), a view
            old_rows = _pooled_in_blocks(pattern[:, :first_row, first_column:].numpy(), *blocks)
            if kept_rows:  # (nh, kept_rows, columns')
                old_rows = np.concatenate((self._pooled[layer, :, :kept_rows, :kept_columns], old_rows), axis=-1)
            new_rows = _pooled_in_blocks(
                pattern[:, first_row:, :].numpy(), *blocks
            )  # (nh, rows' - kept_rows, columns')
            layers.append(np.concatenate((old_rows, new_rows), axis=-2))  # (nh, rows', columns')
        self._pooled = np.stack(layers)  # (L, nh, rows', columns')
        self._blocks, self._lineage, self._ids = blocks, trace.lineage, ids
        return self._pooled


def _shared_prefix(old: np.ndarray, new: np.ndarray) -> int:
    both = min(len(old), len(new))
    differs = np.flatnonzero(old[:both] != new[:both])
    return int(differs[0]) if len(differs) else both


@lru_cache(maxsize=2)
def _lookup_table(name: str) -> np.ndarray:
    table = colormap(name).getLookupTable(0.0, 1.0, 256, alpha=True)  # (256, 4) uint8
    return np.ascontiguousarray(table, dtype=np.uint8)


HEADER_POINT_SIZE = 10
SPACING = 3  # pixels between thumbnails...
TIGHT_SPACING = 1  # ...or when they are this small (30 layers of SmolLM2 in a short panel), fewer
ROOMY_CELL = 16  # pixels: thumbnails at least this tall/wide keep the full spacing
LABEL_STEPS = (1, 2, 5, 10, 20, 50)  # name every layer (head), or every 2nd, 5th..., whichever fits
MARGIN = 8  # pixels round the grid, so the outer frames are never cut


class AttentionGrid(QWidget):
    """Every head as a thumbnail, drawn by one widget: each head's pattern is one small image, scaled up
    cell for cell (no smoothing, so each weight stays a sharp square). One paint for the whole grid,
    where a plot per head (144 for GPT-2 small) cost a layout and a paint each. A pattern with more
    cells than its thumbnail has pixels is max-pooled down to those pixels before it is coloured, so a
    512-token prompt costs about what a 64-token one does (GPT-2 small: 144 heads of 512x512 cells
    would be 37.7 M colours on every keystroke, most of them never seen)."""

    head_clicked = Signal(int, int)  # (layer, head)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 200)
        self.setMouseTracking(True)  # for the tooltip naming the head under the mouse
        self._patterns = np.zeros((0, 0, 0, 0))  # given by set_patterns; or read from a trace (show_trace)
        self.signed = False  # True: the patterns are differences of two prompts' weights, in [-1, 1]
        self._trace = None
        self._heads = (0, 0)  # (n_layers, n_heads) in the grid
        self._pooling = PooledPatterns()
        self._pixels = np.zeros((0, 0, 0, 0, 4), dtype=np.uint8)  # (L, nh, rows, columns, RGBA) the images point into
        self._images: list[list[QImage]] = []
        self._images_size: tuple[int, int] | None = None  # (rows, columns) the images were pooled to; None: stale
        self._selected = (0, 0)
        self._token_labels: list[str] = []
        self.dark = False
        add_export_menu(self, "attention of every head", self.export_table)

    def sizeHint(self) -> QSize:
        return QSize(260, 260)  # modest, so the splitter shares space by its stretch factors

    # -- data ---------------------------------------------------------------------------------------
    def set_patterns(self, patterns: np.ndarray, selected: tuple[int, int], token_labels=()) -> None:
        """patterns (n_layers, n_heads, T, T); outline the selected (layer, head)."""
        self._patterns, self._trace, self._heads = patterns, None, patterns.shape[:2]
        self._token_labels = list(token_labels)
        self._images_size = None  # coloured at the next paint, at the size the thumbnails have then
        self._selected = tuple(selected)
        self.update()

    def show_trace(self, trace, n_layers: int, selected: tuple[int, int], token_labels=()) -> None:
        """Every head's pattern in a trace: as set_patterns(all_patterns(trace, n_layers)), but pooled
        from the trace at paint time, and after a keystroke only where the new tokens changed it."""
        self._trace, self._heads = trace, (n_layers, trace["blocks.0.attn.pattern"].size(1))
        self._token_labels = list(token_labels)
        self._images_size = None
        self._selected = tuple(selected)
        self.update()

    def set_selected(self, layer: int, head: int) -> None:
        if (layer, head) != self._selected:
            self._selected = (layer, head)
            self.update()

    def thumbnail_images(self, rects: list[list[QRectF]] | None = None) -> list[list[QImage]]:
        """[layer][head]: the images painted, one pixel of the screen each once T outgrows the thumbnail;
        coloured again only when the patterns or the thumbnails' size changed."""
        rows, columns = self._pixel_size(self._thumbnail_rects() if rects is None else rects)
        if self._images_size != (rows, columns):
            self._colour_thumbnails(rows, columns)
        return self._images

    def _pixel_size(self, rects: list[list[QRectF]]) -> tuple[int, int]:
        """(rows, columns) of each thumbnail's image: its pixels on screen, but never more than T."""
        T = self._tokens()
        if not rects or not rects[0]:
            return T, T
        scale = self.devicePixelRatioF()  # a high-DPI screen has more pixels than the rect's logical size
        return (min(T, math.ceil(rects[0][0].height() * scale)), min(T, math.ceil(rects[0][0].width() * scale)))

    def _tokens(self) -> int:
        return self._patterns.shape[-1] if self._trace is None else self._trace.ids.size(1)

    def _colour_thumbnails(self, rows: int, columns: int) -> None:
        n_layers, n_heads = self._heads
        if self._trace is None:
            pooled = max_pooled(self._patterns, rows, columns)  # (n_layers, n_heads, rows', columns')
        else:
            pooled = self._pooling.of(self._trace, self._heads[0], rows, columns)
        rows, columns = pooled.shape[-2:]  # at most the thumbnail's pixels
        self._pixels = np.ascontiguousarray(
            coloured(pooled, self.signed)
        )  # (n_layers, n_heads, rows, columns, 4), in one go
        self._images = [
            [
                QImage(self._pixels[layer, head].data, columns, rows, 4 * columns, QImage.Format_RGBA8888)
                for head in range(n_heads)
            ]
            for layer in range(n_layers)
        ]
        self._images_size = (rows, columns)

    def shown_patterns(self) -> np.ndarray:
        """(n_layers, n_heads, T, T): the weights the thumbnails were coloured from."""
        if self._trace is not None:
            return all_patterns(self._trace, self._heads[0])
        return self._patterns.copy()

    # -- geometry -----------------------------------------------------------------------------------
    def _header_sizes(self) -> tuple[float, float]:
        """(width of the 'L0' column, height of the 'H0' row)."""
        metrics = QFontMetrics(font(HEADER_POINT_SIZE))
        n_layers = self._heads[0]
        return metrics.horizontalAdvance(f"L{max(n_layers - 1, 0)}") + 10, metrics.height() + 6

    def _thumbnail_rects(self) -> list[list[QRectF]]:
        """[layer][head]: where each thumbnail is drawn, in the widget's pixels (worked out once a paint)."""
        n_layers, n_heads = self._heads
        header_width, header_height = self._header_sizes()
        left, top = MARGIN + int(header_width), MARGIN + int(header_height)  # whole pixels, as the cells
        across, across_gap = _cells(self.width() - left - MARGIN, n_heads)
        down, down_gap = _cells(self.height() - top - MARGIN, n_layers)
        return [
            [
                QRectF(left + head * (across + across_gap), top + layer * (down + down_gap), across, down)
                for head in range(n_heads)
            ]
            for layer in range(n_layers)
        ]

    def head_rect(self, layer: int, head: int) -> QRectF:
        """Where the thumbnail of (layer, head) is drawn, in the widget's pixels."""
        return self._thumbnail_rects()[layer][head]

    def head_at(self, position: QPointF) -> tuple[int, int] | None:
        for layer, rects in enumerate(self._thumbnail_rects()):
            for head, rect in enumerate(rects):
                if rect.contains(position):
                    return layer, head
        return None

    # -- drawing ------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        palette = colours(self.dark)
        painter.fillRect(self.rect(), QColor(palette["background"]))
        if not (self._heads[0] and self._heads[1] and self._tokens()):
            return
        rects = self._thumbnail_rects()
        self._paint_headers(painter, palette, rects)
        for images, row in zip(self.thumbnail_images(rects), rects):
            for image, rect in zip(images, row):
                painter.drawImage(rect, image)
        self._paint_frames(painter, palette, rects)

    def _paint_headers(self, painter: QPainter, palette, rects: list[list[QRectF]]) -> None:
        painter.setFont(font(HEADER_POINT_SIZE))
        painter.setPen(QColor(palette["text"]))
        header_width, header_height = self._header_sizes()
        metrics = painter.fontMetrics()
        layer_chosen, head_chosen = self._selected
        widest = metrics.horizontalAdvance(f"H{len(rects[0]) - 1}") + 2
        pitch = rects[0][1].left() - rects[0][0].left() if len(rects[0]) > 1 else widest
        for head in labelled(len(rects[0]), pitch, widest, head_chosen):
            cell = rects[0][head]
            box = QRectF(cell.center().x() - widest, MARGIN, 2 * widest, header_height)  # may reach past a thin cell
            self._header_text(painter, palette, box, f"H{head}", head == head_chosen)
        pitch = rects[1][0].top() - rects[0][0].top() if len(rects) > 1 else metrics.height()
        for layer in labelled(len(rects), pitch, metrics.height(), layer_chosen):
            cell = rects[layer][0]
            box = QRectF(MARGIN, cell.center().y() - metrics.height(), header_width, 2 * metrics.height())
            self._header_text(painter, palette, box, f"L{layer}", layer == layer_chosen)

    @staticmethod
    def _header_text(painter: QPainter, palette, box: QRectF, text: str, chosen: bool) -> None:
        """A header; the chosen head's layer and column are named in the accent colour."""
        painter.setPen(QColor(palette["accent" if chosen else "text"]))
        painter.drawText(box, CENTRE_MIDDLE, text)

    def _paint_frames(self, painter: QPainter, palette, rects: list[list[QRectF]]) -> None:
        """A thin frame round every head; the chosen head's thick, in the accent colour, drawn last."""
        painter.setBrush(Qt.NoBrush)
        painter.setPen(QPen(QColor(palette["muted"]), 1))
        for row in rects:
            for rect in row:
                painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))
        layer, head = self._selected
        if 0 <= layer < len(rects) and 0 <= head < len(rects[0]):
            painter.setPen(QPen(QColor(palette["accent"]), 3))
            painter.drawRect(rects[layer][head].adjusted(-1, -1, 1, 1))

    # -- mouse --------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            found = self.head_at(event.position())
            if found is not None:
                self.head_clicked.emit(*found)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        found = self.head_at(event.position())
        self.setToolTip("" if found is None else f"Layer {found[0]}, head {found[1]}: click to open it")
        super().mouseMoveEvent(event)

    # -- looks and export ---------------------------------------------------------------------------
    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        self.update()

    def export_table(self) -> ExportTable:
        """One row per (layer, head, query), one column per key."""
        patterns = self.shown_patterns()
        if patterns.size == 0:
            return ExportTable(np.zeros((0, 0)))
        n_layers, n_heads, T, _ = patterns.shape
        labels = self._token_labels if len(self._token_labels) == T else [str(i) for i in range(T)]
        rows = [
            f"L{layer} H{head} {labels[query]}"
            for layer in range(n_layers)
            for head in range(n_heads)
            for query in range(T)
        ]
        return ExportTable(
            patterns.reshape(-1, T),
            row_labels=rows,
            column_labels=labels,  # (L·H·T, T)
            corner="layer head query \\ key",
        )


def _cells(length: float, count: int) -> tuple[float, float]:
    """(size of each thumbnail, gap between them) when `count` share `length` pixels. Whole pixels: a
    thumbnail starting mid-pixel leaves a blended seam of background between neighbours."""
    gap = SPACING if (length - SPACING * (count - 1)) / max(count, 1) >= ROOMY_CELL else TIGHT_SPACING
    return max(1.0, float(int((length - gap * (count - 1)) / max(count, 1)))), gap


def labelled(count: int, pitch: float, label_size: float, chosen: int) -> list[int]:
    """Which of `count` rows (or columns), `pitch` pixels apart, get a label `label_size` long: every one
    if they fit, else every 2nd, 5th, 10th...; the chosen one always, its crowding neighbours not."""
    step = next((s for s in LABEL_STEPS if s * pitch >= label_size), LABEL_STEPS[-1])
    if step == 1:
        return list(range(count))
    near = {i for i in range(count) if i != chosen and abs(i - chosen) * pitch < label_size}
    return sorted({i for i in range(0, count, step) if i not in near} | ({chosen} if 0 <= chosen < count else set()))
