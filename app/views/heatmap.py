"""A labelled heatmap: one ImageItem updated in place, token strings as ticks, a colour bar, hover.

    heatmap = HeatmapWidget(title="Attention", colormap_name=PROBABILITY_MAP)
    heatmap.set_matrix(pattern, levels=(0, 1), row_labels=tokens, column_labels=tokens, masked=future)
    heatmap.hovered.connect(lambda row, col: ...)       # (-1, -1) when the mouse leaves the matrix

Cell (row r, column c) is drawn centred on (c, r) with row 0 at the top, like a printed matrix.
Masked cells (e.g. the future in causal attention) are left out of the image, so a grey hatching
behind it shows through: masked reads as "not there", never as a colour on the scale.
Small matrices also print each cell's number on the cell.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetrics, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from .colour_bar import ColourBar
from .export import ExportTable, add_export_menu
from .matrix_image import MatrixImage
from .plot_style import (
    CELL_TEXT_POINT_SIZE,
    PROBABILITY_MAP,
    TITLE_POINT_SIZE,
    colormap,
    colours,
    contrasting_text,
    font,
    style_graphics_view,
    style_plot_item,
    title_size,
    wrapped_title,
)
from .token_axis import TokenAxis

MAX_TEXT_CELLS = 144        # print numbers on cells only up to 12 × 12: beyond that they are noise
MIN_TEXT_CELL_HEIGHT = 16  # pixels a cell needs before its number fits (the width needed is measured)


def format_value(value: float) -> str:
    """A cell's number in at most ~5 characters: 0.42, -1.3, 12, -∞."""
    if np.isneginf(value):
        return "−∞"
    if abs(value) >= 9.995:
        return f"{value:.0f}"
    return f"{value:.2f}"


def _let_title_wrap(label: pg.LabelItem) -> None:
    """A title never holds its plot wider than the plot's own room: _fit_title wraps it instead.
    (pyqtgraph makes a label's text width its minimum width after every change and resize.)"""
    own_update = label.updateMin

    def update_min() -> None:
        own_update()
        label.setMinimumWidth(0)

    label.updateMin = update_min


class HeatmapPlot:
    """One heatmap inside a pyqtgraph layout: a PlotItem holding the image, the hatching and the cursor."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, title: str = "",
                 colormap_name: str = PROBABILITY_MAP, row_name: str = "", column_name: str = "") -> None:
        self.left_axis, self.bottom_axis = TokenAxis("left"), TokenAxis("bottom")
        self.plot: pg.PlotItem = layout.addPlot(row=row, col=col, title=title or None, enableMenu=False,
                                                axisItems={"left": self.left_axis, "bottom": self.bottom_axis})
        self.title = title
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.geometryChanged.connect(self._fit_title)
        self.plot.getViewBox().sigResized.connect(lambda *_: self._fit_title())  # the matrix moved under it
        _let_title_wrap(self.plot.titleLabel)
        for side in ("top", "right"):  # hidden, but linked to the view: spare them re-typesetting their
            self.plot.getAxis(side).enableAutoSIPrefix(False)  # titles on every change of range
        self.plot.invertY(True)
        self.plot.getViewBox().setDefaultPadding(0.0)
        if row_name:
            self.plot.setLabel("left", row_name)
        if column_name:
            self.plot.setLabel("bottom", column_name)
        self.hatch = QGraphicsRectItem()          # shows through where cells are masked (NaN)
        self.hatch.setPen(QPen(Qt.NoPen))
        self.plot.addItem(self.hatch)
        self.image = MatrixImage(axisOrder="row-major")
        self.image.setColorMap(colormap(colormap_name))
        self.plot.addItem(self.image)
        self.cursor = QGraphicsRectItem()         # outline of the hovered cell
        self.cursor.setBrush(QBrush(Qt.NoBrush))
        self.cursor.setZValue(10)
        self.cursor.hide()
        self.plot.addItem(self.cursor)
        self._cell_texts: list[pg.TextItem] = []
        self._cell_shown: dict[int, tuple[str, int]] = {}  # cell text index -> (text, colour) it holds
        self.numbers_on_cells = True  # False: the owner writes its own text on the cells (e.g. tokens)
        self._levels = (0.0, 1.0)
        self._masked_text = ""
        self.row_labels: list[str] | None = None     # None: rows are numbered (e.g. dimensions)
        self.column_labels: list[str] | None = None
        self.dark = False
        self.plot.getViewBox().sigResized.connect(self._update_cell_texts)

    # -- data ---------------------------------------------------------------------------------------
    def set_matrix(self, values: np.ndarray, levels: tuple[float, float],
                   row_labels: Sequence[str] | None = None, column_labels: Sequence[str] | None = None,
                   masked: np.ndarray | None = None, masked_text: str = "") -> None:
        """Show `values` (rows, columns); cells where `masked` is True are hatched instead of coloured."""
        shown = np.array(values, dtype=np.float32)                    # our own copy: the image keeps it
        if masked is not None:
            shown[np.asarray(masked, dtype=bool)] = np.nan
        rows, cols = shown.shape
        self._levels = (float(levels[0]), float(levels[1]))
        self._masked_text = masked_text
        self.image.setImage(shown, levels=self._levels, autoLevels=False)
        rect = QRectF(-0.5, -0.5, cols, rows)                         # cell (r, c) centred on (c, r)
        self.image.setRect(rect)
        self.hatch.setRect(rect)
        self.hatch.setVisible(masked is not None and bool(np.any(masked)))
        self.plot.getViewBox().setRange(rect=rect, padding=0)
        row_labels = None if row_labels is None else list(row_labels)
        column_labels = None if column_labels is None else list(column_labels)
        if row_labels != self.row_labels:                             # re-measuring the axis is not free
            self.row_labels = row_labels
            self.left_axis.set_labels(row_labels)
        if column_labels != self.column_labels:
            self.column_labels = column_labels
            self.bottom_axis.set_labels(column_labels)
        self._update_cell_texts()

    def matrix(self) -> np.ndarray:
        """What is on screen: the values, NaN where a cell is masked."""
        return self.image.image

    def shape(self) -> tuple[int, int]:
        image = self.image.image
        return (0, 0) if image is None else image.shape[:2]

    def set_colormap(self, name: str) -> None:
        self.image.setColorMap(colormap(name))
        self._update_cell_texts()

    # -- hover --------------------------------------------------------------------------------------
    def cell_at(self, scene_position) -> tuple[int, int] | None:
        """(row, col) under a scene position, or None outside the matrix."""
        view_box = self.plot.getViewBox()
        if not view_box.sceneBoundingRect().contains(scene_position):
            return None
        point = view_box.mapSceneToView(scene_position)
        row, col = round(point.y()), round(point.x())
        rows, cols = self.shape()
        return (row, col) if 0 <= row < rows and 0 <= col < cols else None

    def show_cursor(self, row: int, col: int) -> None:
        """Outline cell (row, col), a whole row (col = -1) or a whole column (row = -1); (-1, -1) clears it."""
        accent = QColor(colours(self.dark)["accent"])
        rows, cols = self.shape()
        if row < 0 and col < 0:
            self.cursor.hide()
        else:
            pen = QPen(accent, 2)
            pen.setCosmetic(True)
            self.cursor.setPen(pen)
            left, width = (col - 0.5, 1) if col >= 0 else (-0.5, cols)
            top, height = (row - 0.5, 1) if row >= 0 else (-0.5, rows)
            self.cursor.setRect(QRectF(left, top, width, height))
            self.cursor.show()
        self.left_axis.set_highlight(row, accent)
        self.bottom_axis.set_highlight(col, accent)

    # -- looks --------------------------------------------------------------------------------------
    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        palette = colours(dark)
        self.hatch.setBrush(QBrush(QColor(palette["hatch"]), Qt.BDiagPattern))
        style_plot_item(self.plot, dark)
        self.left_axis.set_labels(self.row_labels)      # the font may have changed: measure again
        self.bottom_axis.set_labels(self.column_labels)
        self._fit_title(force=True)

    def set_title(self, title: str) -> None:
        if title == self.title and self.plot.titleLabel.text:
            return  # typesetting a title is not free; set_theme recolours it
        self.title = title
        self._fit_title(force=True)

    def _fit_title(self, force: bool = False) -> None:
        """The title on as many lines as the plot's width needs, never cut at its edge."""
        if not self.title:
            return
        title_font = font(TITLE_POINT_SIZE)
        # The title is centred over the matrix, not over the whole plot: it has twice the room on its
        # narrower side (the left axis takes some of the left).
        centre = self.plot.getViewBox().geometry().center().x()
        room = 2 * min(centre, self.plot.width() - centre) - 8
        text, lines = wrapped_title(self.title, room, title_font)
        if force or text != self.plot.titleLabel.text:
            self.plot.setTitle(text, color=colours(self.dark)["text"], size=title_size())
        height = max(30, lines * QFontMetrics(title_font).lineSpacing() + 10)
        if self.plot.layout.rowMinimumHeight(0) != height:  # setTitle makes it 30: one line
            self.plot.titleLabel.setMaximumHeight(height)
            self.plot.layout.setRowFixedHeight(0, height)

    def shown_title(self) -> str:
        """The title as drawn ("<br>" where it wraps)."""
        return self.plot.titleLabel.text

    def _update_cell_texts(self, *_) -> None:
        """Numbers on the cells when the matrix is small and the cells are big enough to hold them."""
        image = self.image.image
        rows, cols = self.shape()
        view = self.plot.getViewBox().size()
        widest = QFontMetrics(font(CELL_TEXT_POINT_SIZE)).horizontalAdvance("-0.00") + 2
        fits = (self.numbers_on_cells and image is not None and rows * cols <= MAX_TEXT_CELLS
                and view.width() / max(cols, 1) >= widest
                and view.height() / max(rows, 1) >= MIN_TEXT_CELL_HEIGHT)
        needed = rows * cols if fits else 0
        while len(self._cell_texts) < needed:
            text = pg.TextItem(anchor=(0.5, 0.5))
            text.setFont(font(CELL_TEXT_POINT_SIZE))
            text.setZValue(5)
            self.plot.addItem(text)
            self._cell_texts.append(text)
        for text in self._cell_texts[needed:]:
            text.hide()
        if not needed:
            return
        low, high = self._levels
        values = image[:rows, :cols].astype(np.float64).ravel()  # (rows * cols,) in reading order
        fractions = np.full_like(values, 0.5) if high == low else np.clip((values - low) / (high - low), 0.0, 1.0)
        shades = self.image.getColorMap().map(np.nan_to_num(fractions), mode="byte")  # (rows * cols, 4), one call
        masked_colour = QColor(colours(self.dark)["text"])
        for index, text in enumerate(self._cell_texts[:needed]):
            row, col = divmod(index, cols)
            if np.isnan(values[index]):
                label, colour = self._masked_text, masked_colour
            else:
                label, colour = format_value(values[index]), contrasting_text(QColor(*shades[index].tolist()))
            if self._cell_shown.get(index) != (label, colour.rgba()):  # re-typesetting a text is not free
                self._cell_shown[index] = (label, colour.rgba())
                text.setText(label, colour)
            text.setPos(col, row)
            text.show()


class HeatmapWidget(pg.GraphicsLayoutWidget):
    """One or more aligned heatmaps (same rows) with one shared colour bar, hover and click signals."""

    hovered = Signal(int, int)   # (row, col) under the mouse; (-1, -1) when it leaves
    clicked = Signal(int, int)   # (row, col) clicked with the left button

    def __init__(self, title: str = "", colormap_name: str = PROBABILITY_MAP, row_name: str = "",
                 column_name: str = "", panel_titles: Sequence[str] = (), export_name: str = "",
                 colorbar: bool = True, parent=None) -> None:
        super().__init__(parent=parent)
        self.setMinimumSize(220, 180)
        titles = list(panel_titles) or [title]
        self.panels = [HeatmapPlot(self.ci, 0, i, title=t, colormap_name=colormap_name,
                                   row_name=row_name if i == 0 else "", column_name=column_name)
                       for i, t in enumerate(titles)]
        for column in range(len(self.panels)):  # equal widths, whatever the titles
            self.ci.layout.setColumnStretchFactor(column, 1)
        for panel in self.panels[1:]:  # rows line up: one shared row axis, labelled once
            panel.plot.setYLink(self.panels[0].plot)
            panel.plot.hideAxis("left")
        self.colorbar = ColourBar(self.panels[-1].plot, colormap_name) if colorbar else None
        self.colormap_name = colormap_name
        self._hovered = (-1, -1)
        self.hovered_panel = 0
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        add_export_menu(self, export_name or title or "heatmap", self.export_table)
        self.set_theme(False)

    def sizeHint(self) -> QSize:
        # Modest, so that layouts share space by their stretch factors, not by pyqtgraph's large default.
        return QSize(280 * len(self.panels), 220)

    @property
    def panel(self) -> HeatmapPlot:
        return self.panels[0]

    def set_matrix(self, values: np.ndarray, levels: tuple[float, float], row_labels=None, column_labels=None,
                   masked: np.ndarray | None = None, masked_text: str = "", panel: int = 0) -> None:
        self.panels[panel].set_matrix(values, levels, row_labels, column_labels, masked, masked_text)
        if self.colorbar is not None:
            self.colorbar.setLevels(levels)

    def matrix(self, panel: int = 0) -> np.ndarray:
        return self.panels[panel].matrix()

    def set_column_name(self, name: str) -> None:
        for panel in self.panels:
            panel.plot.setLabel("bottom", name)

    def set_colormap(self, name: str) -> None:
        if name == self.colormap_name:
            return  # a new colour table is not free
        self.colormap_name = name
        for panel in self.panels:
            panel.set_colormap(name)
        if self.colorbar is not None:
            self.colorbar.setColorMap(colormap(name))

    def set_title(self, title: str, panel: int = 0) -> None:
        self.panels[panel].set_title(title)

    def hide_row_labels(self) -> None:
        """For a heatmap drawn right beside another with the same rows: label the rows once."""
        self.panel.plot.hideAxis("left")

    def set_theme(self, dark: bool) -> None:
        style_graphics_view(self, dark)
        for panel in self.panels:
            panel.set_theme(dark)
        if self.colorbar is not None:
            palette = colours(dark)
            self.colorbar.axis.setPen(pg.mkPen(palette["axis"]))
            self.colorbar.axis.setTextPen(pg.mkPen(palette["text"]))
            self.colorbar.set_font(font())

    def show_cursor(self, row: int, col: int) -> None:
        for panel in self.panels:
            panel.show_cursor(row, col)

    def export_table(self) -> ExportTable:
        """The numbers on screen; several panels sit side by side, their columns prefixed by panel title."""
        values, columns = [], []
        for panel in self.panels:
            matrix = panel.matrix()
            if matrix is None:
                continue
            values.append(matrix)
            names = panel.column_labels or [str(c) for c in range(matrix.shape[1])]
            columns += [f"{panel.title}: {name}" if len(self.panels) > 1 else name for name in names]
        if not values:
            return ExportTable(np.zeros((0, 0)))
        return ExportTable(np.hstack(values), row_labels=self.panel.row_labels, column_labels=columns)

    # -- mouse --------------------------------------------------------------------------------------
    def _cell_under(self, scene_position) -> tuple[int, tuple[int, int] | None]:
        for index, panel in enumerate(self.panels):
            cell = panel.cell_at(scene_position)
            if cell is not None:
                return index, cell
        return 0, None

    def _on_mouse_moved(self, scene_position) -> None:
        panel, cell = self._cell_under(scene_position)
        self.hovered_panel = panel
        self._set_hovered(cell or (-1, -1))

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        _, cell = self._cell_under(event.scenePos())
        if cell is not None:
            self.clicked.emit(*cell)

    def leaveEvent(self, event) -> None:
        self._set_hovered((-1, -1))
        super().leaveEvent(event)

    def _set_hovered(self, cell: tuple[int, int]) -> None:
        if cell != self._hovered:
            self._hovered = cell
            self.show_cursor(*cell)
            self.hovered.emit(*cell)
