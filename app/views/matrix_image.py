"""A heatmap's image: a float matrix drawn as pyqtgraph would draw it, with the colour table made once,
and when the matrix only gained (or lost) rows and columns at its end, only the new cells coloured."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QImage


class MatrixImage(pg.ImageItem):
    """An ImageItem that turns a float matrix into the same QImage as pyqtgraph does (same bins, same
    colours, same image format, so the same pixels), with the colour table built once per colour map
    instead of in Python for every new matrix.

    A keystroke at the end of a long prompt adds one row and one column to a (T, T) table and leaves
    every other cell as it was. Each cell's colour depends on that cell alone, so the pixels of the
    cells that did not change are kept from the last render and only the new strips are coloured
    (`incremental = False` colours every cell, the plain way; tests/app/test_matrix_image.py shows the
    two agree)."""

    incremental = True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._tables: tuple[object, list[int], np.ndarray] | None = None  # (lut, colour table, RGBA lut)
        self._pixels: np.ndarray | None = None  # what the QImage points into
        self._coloured: tuple | None = None  # (values, levels, lut, RGBA?) the pixels were coloured from

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
            self._coloured = None
            super().render()
            return
        table, rgba_lut = self._colour_tables(lut)
        levels = (float(levels[0]), float(levels[1]))
        rgba = bool(np.isnan(image).any())  # masked cells: an RGBA image, transparent there (pyqtgraph's format)
        rows, cols = image.shape
        kept = self._unchanged_corner(image, levels, lut, rgba)
        if kept is None:
            pixels = self._colour(image, levels, rgba_lut, rgba)
        else:
            pixels = self._recoloured(image, kept, levels, rgba_lut, rgba)
        if rgba:
            qimage = QImage(pixels.data, cols, rows, 4 * cols, QImage.Format_RGBA8888)
        else:  # an indexed image and its colour table (pyqtgraph's own format)
            qimage = QImage(pixels.data, cols, rows, cols, QImage.Format_Indexed8)
            qimage.setColorTable(table)
        self._pixels = pixels
        self._coloured = (image.copy(), levels, lut, rgba)  # a copy: whoever set the image may change it later
        self.qimage = qimage
        self._renderRequired = False
        self._unrenderable = False

    @staticmethod
    def _colour(values: np.ndarray, levels: tuple[float, float], rgba_lut: np.ndarray, rgba: bool) -> np.ndarray:
        """The pixels of `values` (rows, cols): colour-table indices (rows, cols), or RGBA (rows, cols, 4)
        with masked (NaN) cells transparent; each cell's pixel depends on that cell alone."""
        low, high = levels
        scaled = values - low  # float32 steps, as pyqtgraph's rescaleData
        scaled *= 256 / (high - low if high != low else 1)
        np.clip(scaled, 0, 255, out=scaled)
        if not rgba:
            return np.ascontiguousarray(scaled.astype(np.uint8))  # (rows, cols)
        missing = np.isnan(values)
        scaled[missing] = 0
        pixels = rgba_lut[scaled.astype(np.uint8)]  # (rows, cols, 4)
        pixels[missing, 3] = 0
        return pixels

    # -- the fast path: only the cells that changed -------------------------------------------------
    def _unchanged_corner(
        self, image: np.ndarray, levels: tuple[float, float], lut: np.ndarray, rgba: bool
    ) -> tuple[int, int] | None:
        """(rows, cols) of the top-left block whose cells hold what the last render coloured, in the same
        colours and format; None when nothing can be kept (a new head, a new colour scale)."""
        if not self.incremental or self._coloured is None:
            return None
        before, before_levels, before_lut, before_rgba = self._coloured
        if before_levels != levels or before_lut is not lut or before_rgba != rgba:
            return None
        rows, cols = min(before.shape[0], image.shape[0]), min(before.shape[1], image.shape[1])
        # Bit for bit, so that a masked (NaN) cell counts as unchanged too.
        if not np.array_equal(before[:rows, :cols].view(np.uint32), image[:rows, :cols].view(np.uint32)):
            return None
        return rows, cols

    def _recoloured(
        self, image: np.ndarray, kept: tuple[int, int], levels: tuple[float, float], rgba_lut: np.ndarray, rgba: bool
    ) -> np.ndarray:
        """The last render's pixels for the kept block; the rows below it and the columns right of it
        coloured anew."""
        rows, cols = kept
        pixels = np.empty(image.shape + ((4,) if rgba else ()), dtype=np.uint8)  # (T, T) or (T, T, 4)
        pixels[:rows, :cols] = self._pixels[:rows, :cols]
        if rows < image.shape[0]:
            pixels[rows:] = self._colour(image[rows:], levels, rgba_lut, rgba)  # new rows, every column
        if cols < image.shape[1]:
            pixels[:rows, cols:] = self._colour(image[:rows, cols:], levels, rgba_lut, rgba)  # new columns
        return pixels

    def _colour_tables(self, lut: np.ndarray) -> tuple[list[int], np.ndarray]:
        if self._tables is None or self._tables[0] is not lut:
            red, green, blue = (lut[:, channel].astype(np.uint32) for channel in range(3))
            table = (0xFF000000 | red << 16 | green << 8 | blue).tolist()  # qRgb(r, g, b) of each entry
            rgba_lut = np.concatenate([lut, np.full((256, 1), 255, dtype=np.uint8)], axis=1)  # (256, 4)
            self._tables = (lut, table, rgba_lut)
        return self._tables[1], self._tables[2]
