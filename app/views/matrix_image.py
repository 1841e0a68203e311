"""A heatmap's image: a float matrix drawn as pyqtgraph would draw it, with the colour table made once."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QImage


class MatrixImage(pg.ImageItem):
    """An ImageItem that turns a float matrix into the same QImage as pyqtgraph does (same bins, same
    colours, same image format, so the same pixels), with the colour table built once per colour map
    instead of in Python for every new matrix."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._tables: tuple[object, list[int], np.ndarray] | None = None  # (lut, colour table, RGBA lut)
        self._pixels: np.ndarray | None = None  # what the QImage points into

    def render(self) -> None:
        image, lut, levels = self.image, self.lut, self.levels
        if (
            image is None
            or image.ndim != 2
            or image.dtype != np.float32
            or image.size == 0
            or levels is None
            or np.ndim(levels) != 1
            or not isinstance(lut, np.ndarray)
            or lut.dtype != np.uint8
            or lut.shape != (256, 3)
            or self.autoDownsample
            or self.axisOrder != "row-major"
        ):
            super().render()
            return
        table, rgba_lut = self._colour_tables(lut)
        low, high = float(levels[0]), float(levels[1])
        scaled = image - low  # float32 steps, as pyqtgraph's rescaleData
        scaled *= 256 / (high - low if high != low else 1)
        np.clip(scaled, 0, 255, out=scaled)
        missing = np.isnan(image)
        rows, cols = image.shape
        if missing.any():  # masked cells: an RGBA image, transparent there (pyqtgraph's own format)
            scaled[missing] = 0
            pixels = rgba_lut[scaled.astype(np.uint8)]  # (rows, cols, 4)
            pixels[missing, 3] = 0
            qimage = QImage(pixels.data, cols, rows, 4 * cols, QImage.Format_RGBA8888)
        else:  # an indexed image and its colour table (pyqtgraph's own format)
            pixels = np.ascontiguousarray(scaled.astype(np.uint8))  # (rows, cols)
            qimage = QImage(pixels.data, cols, rows, cols, QImage.Format_Indexed8)
            qimage.setColorTable(table)
        self._pixels = pixels
        self.qimage = qimage
        self._renderRequired = False
        self._unrenderable = False

    def _colour_tables(self, lut: np.ndarray) -> tuple[list[int], np.ndarray]:
        if self._tables is None or self._tables[0] is not lut:
            red, green, blue = (lut[:, channel].astype(np.uint32) for channel in range(3))
            table = (0xFF000000 | red << 16 | green << 8 | blue).tolist()  # qRgb(r, g, b) of each entry
            rgba_lut = np.concatenate([lut, np.full((256, 1), 255, dtype=np.uint8)], axis=1)  # (256, 4)
            self._tables = (lut, table, rgba_lut)
        return self._tables[1], self._tables[2]
