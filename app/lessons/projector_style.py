"""Thick lines and projector-proof colour maps for every plot in a window, undone exactly.

Walks the pyqtgraph scenes: curves get pens at least PROJECTOR_LINE_WIDTH wide, axes get thicker
lines, and images drawn with a sequential colour map (viridis and friends) switch to cividis, whose
colours read the same to most colour-blind viewers and keep their order on a washed-out projector.
Diverging and cyclic maps keep their own (they need their middle or their wrap-around).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QWidget

from app.views.plot_style import colormap

PROJECTOR_LINE_WIDTH = 4
AXIS_LINE_WIDTH = 2
PROJECTOR_MAP = "cividis"
SEQUENTIAL_MAPS = {
    "viridis",
    "inferno",
    "magma",
    "plasma",
    "cividis",
    "CET-L1",
    "CET-L3",
    "CET-L4",
    "CET-L8",
    "CET-L20",
}


class ProjectorStyle:
    """apply(window) restyles (again, after redraws); restore() puts back every original it changed."""

    def __init__(self) -> None:
        self._pens: dict = {}  # curve or axis -> its own pen
        self._maps: dict = {}  # image -> its own colour map

    def apply(self, window: QWidget) -> None:
        items = [
            item
            for view in window.findChildren(pg.GraphicsView)
            for item in view.scene().items()
            if not (isinstance(item, pg.PlotCurveItem) and isinstance(item.parentItem(), pg.PlotDataItem))
        ]
        # Record every original before changing anything: a colour bar recolours its images too.
        for item in items:
            if isinstance(item, (pg.PlotCurveItem, pg.PlotDataItem, pg.AxisItem)) and item not in self._pens:
                self._pens[item] = self._pen_of(item)
            elif isinstance(item, (pg.ImageItem, pg.ColorBarItem)) and item not in self._maps:
                self._maps[item] = self._map_of(item)
        for item in items:
            if isinstance(item, (pg.PlotCurveItem, pg.PlotDataItem)):
                self._thicken(item, PROJECTOR_LINE_WIDTH)
            elif isinstance(item, pg.AxisItem):
                self._thicken(item, AXIS_LINE_WIDTH)
            elif isinstance(item, (pg.ImageItem, pg.ColorBarItem)):
                self._recolour(item)

    @staticmethod
    def _pen_of(item) -> QPen:
        return pg.mkPen(item.opts["pen"]) if isinstance(item, pg.PlotDataItem) else QPen(item.pen())

    @staticmethod
    def _map_of(item):
        return item.colorMap() if isinstance(item, pg.ColorBarItem) else item.getColorMap()

    def _thicken(self, item, width: int) -> None:
        current = self._pen_of(item)
        if current.widthF() >= width or current.style() == Qt.PenStyle.NoPen:
            return
        current.setWidthF(width)
        item.setPen(current)

    def _recolour(self, image) -> None:
        """An image, or a colour bar (which recolours the images it is linked to as well)."""
        own = self._maps[image]
        if own is None or getattr(own, "name", "") not in SEQUENTIAL_MAPS:
            return
        if getattr(self._map_of(image), "name", "") != PROJECTOR_MAP:
            image.setColorMap(colormap(PROJECTOR_MAP))

    def restore(self) -> None:
        for item, pen in self._pens.items():
            try:
                item.setPen(pen)
            except RuntimeError:  # the panel replaced this item meanwhile; its successor is already plain
                pass
        for image, own in self._maps.items():
            if own is None:
                continue
            try:
                image.setColorMap(own)
            except RuntimeError:
                pass
        self._pens.clear()
        self._maps.clear()

    @property
    def changed_images(self) -> list:
        """Images and colour bars now drawn with the projector map instead of their own."""
        return [item for item, own in self._maps.items() if getattr(own, "name", "") in SEQUENTIAL_MAPS]
