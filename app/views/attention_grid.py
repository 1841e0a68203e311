"""Small multiples: every head of every layer as a thumbnail of its attention pattern (BertViz's
model view). One ImageItem per head, updated in place; click a thumbnail to open that head.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPen

from .export import ExportTable, add_export_menu
from .plot_style import PROBABILITY_MAP, colormap, colours, style_graphics_view


def coloured(patterns: np.ndarray) -> np.ndarray:
    """Weights in [0, 1] (..., T, T) -> RGBA (..., T, T, 4) in the probability colour map, binned as
    pyqtgraph bins levels (0, 1), so the picture is the same; one numpy step for all heads instead
    of a colour table per thumbnail."""
    finite = np.nan_to_num(patterns, nan=0.0, posinf=1.0, neginf=0.0)  # a diverged model's NaNs show as 0
    index = np.clip((finite * 256).astype(np.int32), 0, 255)
    packed = _lookup_table().view(np.uint32)[:, 0]  # (256,): each RGBA colour as one 4-byte word
    return packed[index].view(np.uint8).reshape(*index.shape, 4)  # one look-up per cell, not four


@lru_cache(maxsize=1)
def _lookup_table() -> np.ndarray:
    table = colormap(PROBABILITY_MAP).getLookupTable(0.0, 1.0, 256, alpha=True)  # (256, 4) uint8
    return np.ascontiguousarray(table, dtype=np.uint8)


UNIT_SQUARE = QRectF(0.0, 0.0, 1.0, 1.0)  # each thumbnail's view range; its image is stretched over it


class AttentionGrid(pg.GraphicsLayoutWidget):
    head_clicked = Signal(int, int)  # (layer, head)

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setMinimumSize(200, 200)
        self.ci.setSpacing(3)
        self._boxes: list[list[pg.ViewBox]] = []
        self._images: list[list[pg.ImageItem]] = []
        self._headers: list[pg.LabelItem] = []
        self._patterns = np.zeros((0, 0, 0, 0))
        self._selected = (0, 0)
        self._token_labels: list[str] = []
        self.dark = False
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        add_export_menu(self, "attention of every head", self.export_table)
        self.set_theme(False)

    def sizeHint(self) -> QSize:
        return QSize(260, 260)  # modest, so the splitter shares space by its stretch factors

    # -- data ---------------------------------------------------------------------------------------
    def set_patterns(self, patterns: np.ndarray, selected: tuple[int, int], token_labels=()) -> None:
        """patterns (n_layers, n_heads, T, T); outline the selected (layer, head)."""
        n_layers, n_heads, T, _ = patterns.shape
        if (n_layers, n_heads) != self._patterns.shape[:2]:
            self._build(n_layers, n_heads)
        self._patterns = patterns
        self._token_labels = list(token_labels)
        rgba = coloured(patterns)  # (n_layers, n_heads, T, T, 4): every head coloured in one go
        for layer in range(n_layers):
            for head in range(n_heads):
                image = self._images[layer][head]
                image.setImage(rgba[layer, head], autoLevels=False)
                image.setRect(UNIT_SQUARE)  # stretched over the box's fixed range: a new T moves no view
        self.set_selected(*selected)

    def set_selected(self, layer: int, head: int, force: bool = False) -> None:
        if (layer, head) == self._selected and not force:
            return
        self._selected = (layer, head)
        palette = colours(self.dark)
        for row, boxes in enumerate(self._boxes):
            for col, box in enumerate(boxes):
                chosen = (row, col) == (layer, head)
                pen = QPen(QColor(palette["accent"] if chosen else palette["muted"]), 3 if chosen else 1)
                pen.setCosmetic(True)
                box.setBorder(pen)

    def shown_patterns(self) -> np.ndarray:
        """(n_layers, n_heads, T, T): the weights the thumbnails were coloured from."""
        return self._patterns.copy()

    def _build(self, n_layers: int, n_heads: int) -> None:
        """One small ViewBox per head, with 'L0'… down the side and 'H0'… along the top."""
        self.ci.clear()
        self._boxes, self._images, self._headers = [], [], []
        self._selected = (-1, -1)  # new boxes: draw every border
        for head in range(n_heads):
            self._headers.append(self.ci.addLabel(f"H{head}", row=0, col=head + 1))
        for layer in range(n_layers):
            self._headers.append(self.ci.addLabel(f"L{layer}", row=layer + 1, col=0))
            boxes, images = [], []
            for head in range(n_heads):
                box = self.ci.addViewBox(row=layer + 1, col=head + 1, enableMenu=False, invertY=True,
                                         enableMouse=False)
                box.setDefaultPadding(0.0)
                box.setRange(rect=UNIT_SQUARE, padding=0)  # every pattern fills it, whatever its length
                image = pg.ImageItem(axisOrder="row-major")  # shows ready-coloured RGBA (see coloured())
                box.addItem(image)
                boxes.append(box)
                images.append(image)
            self._boxes.append(boxes)
            self._images.append(images)
        self._style_headers()

    # -- mouse --------------------------------------------------------------------------------------
    def head_at(self, scene_position) -> tuple[int, int] | None:
        for layer, boxes in enumerate(self._boxes):
            for head, box in enumerate(boxes):
                if box.sceneBoundingRect().contains(scene_position):
                    return layer, head
        return None

    def _on_mouse_clicked(self, event) -> None:
        if event.button() == Qt.LeftButton:
            found = self.head_at(event.scenePos())
            if found is not None:
                self.head_clicked.emit(*found)

    def _on_mouse_moved(self, scene_position) -> None:
        found = self.head_at(scene_position)
        self.setToolTip("" if found is None else f"Layer {found[0]}, head {found[1]}: click to open it")

    # -- looks and export ---------------------------------------------------------------------------
    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        style_graphics_view(self, dark)
        self._style_headers()
        self.set_selected(*self._selected, force=True)

    def _style_headers(self) -> None:
        for header in self._headers:
            header.setText(header.text, color=colours(self.dark)["text"], size="10pt")

    def export_table(self) -> ExportTable:
        """One row per (layer, head, query), one column per key."""
        patterns = self.shown_patterns()
        if patterns.size == 0:
            return ExportTable(np.zeros((0, 0)))
        n_layers, n_heads, T, _ = patterns.shape
        labels = self._token_labels if len(self._token_labels) == T else [str(i) for i in range(T)]
        rows = [f"L{layer} H{head} {labels[query]}" for layer in range(n_layers) for head in range(n_heads)
                for query in range(T)]
        return ExportTable(patterns.reshape(-1, T), row_labels=rows, column_labels=labels,  # (L·H·T, T)
                           corner="layer head query \\ key")
