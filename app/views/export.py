"""Right-click any plot to save it: a picture (PNG), a drawing (SVG) or its numbers (CSV).

    add_export_menu(plot_widget, "attention L0 H1", lambda: ExportTable(pattern, row_labels=tokens,
                                                                         column_labels=tokens))

`plot_widget` is any QWidget: a pyqtgraph PlotWidget / GraphicsLayoutWidget, or a plain widget that
paints itself. `data_fn` is called when the user exports, so the CSV holds what is on screen then.
It returns an ExportTable, or a bare 1-D / 2-D numpy array.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QGraphicsView, QMenu, QMessageBox, QWidget

FORMATS = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)", "csv": "CSV table (*.csv)"}

# Which model drew what is exported now, e.g. "Attention Lab — gpt2 (Hugging Face) · 12 layers × 12 heads · ...".
# Set by the window whenever it shows another model; written into every PNG and SVG (one model per app).
_model_credit = ""


def set_model_credit(text: str) -> None:
    global _model_credit
    _model_credit = text


def model_credit() -> str:
    return _model_credit


def credited_image(widget: QWidget) -> QImage:
    """A picture of the widget as it looks now, naming the model that drew it in its PNG text fields."""
    image = widget.grab().toImage()
    if _model_credit:
        image.setText("Description", f"Drawn by {_model_credit}")
        image.setText("Model", _model_credit)
    image.setText("Software", "Attention Lab")
    return image


@dataclass(frozen=True)
class ExportTable:
    """The numbers behind a plot, as a table with optional labels."""

    values: np.ndarray  # (rows, columns) numbers; a 1-D array is one column
    row_labels: Sequence[str] = ()  # one per row (e.g. query tokens); empty: 0, 1, 2, ...
    column_labels: Sequence[str] = ()  # one per column (e.g. key tokens); empty: 0, 1, 2, ...
    corner: str = ""  # header of the label column, e.g. "query \\ key"
    notes: Sequence[str] = field(default_factory=tuple)  # lines written first, as '# ...' comments


def as_table(data) -> ExportTable:
    """Accept what a data_fn returns: an ExportTable or an array."""
    if isinstance(data, ExportTable):
        return data
    return ExportTable(np.asarray(data))


def write_csv(path: str | Path, data) -> None:
    """Write the table: a header row of column labels, then one labelled row per table row."""
    table = as_table(data)
    values = np.asarray(table.values)
    if values.ndim == 1:
        values = values[:, None]  # (N,) -> (N, 1): one column
    if values.ndim != 2:
        raise ValueError(f"Only tables (2-D) can be saved as CSV, not an array of shape {values.shape}.")
    rows, columns = values.shape
    row_labels = list(table.row_labels) or [str(i) for i in range(rows)]
    column_labels = list(table.column_labels) or [str(j) for j in range(columns)]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        for note in table.notes:
            handle.write(f"# {note}\n")
        writer = csv.writer(handle)
        writer.writerow([table.corner, *column_labels])
        for label, row in zip(row_labels, values):
            writer.writerow([label, *(_number(v) for v in row)])


def _number(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else repr(float(value))  # repr keeps every digit
    return str(value)


def save_png(widget: QWidget, path: str | Path) -> None:
    """A picture of the widget exactly as it looks now (at the screen's pixel ratio)."""
    if not credited_image(widget).save(str(path), "PNG"):
        raise OSError(f"Could not write {path}; choose a folder you can write to.")


def save_svg(widget: QWidget, path: str | Path, title: str = "") -> None:
    """A vector drawing of the widget, painted by Qt's SVG painter.

    (pyqtgraph's SVGExporter cannot read the SVG that Qt 6.12 writes, so it is not used.)
    """
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(widget.size())
    generator.setViewBox(QRect(QPoint(0, 0), widget.size()))
    generator.setTitle(title)
    if _model_credit:
        generator.setDescription(f"Drawn by {_model_credit}")
    painter = QPainter(generator)
    try:
        if isinstance(widget, QGraphicsView):
            widget.render(painter)  # the scene, scaled to the drawing
        else:
            widget.render(painter, QPoint(0, 0))  # a plain widget and its children (PySide6 needs the offset)
    finally:
        painter.end()


class ExportMenu:
    """The right-click menu of one widget. Kept on the widget as `widget.export_menu`."""

    def __init__(self, widget: QWidget, name: str, data_fn: Callable[[], object]) -> None:
        self.widget = widget
        self.name = name
        self.data_fn = data_fn
        self.last_folder = Path.home()
        widget.setContextMenuPolicy(Qt.CustomContextMenu)
        widget.customContextMenuRequested.connect(self._on_menu_requested)
        _switch_off_pyqtgraph_menus(widget)

    # -- what the actions do; callable without a dialog (tests, scripts) ---------------------------
    def export_png(self, path: str | Path) -> None:
        save_png(self.widget, path)

    def export_svg(self, path: str | Path) -> None:
        save_svg(self.widget, path, title=self.name)

    def export_csv(self, path: str | Path) -> None:
        write_csv(path, self.data_fn())

    # -- the menu -----------------------------------------------------------------------------------
    def build_menu(self) -> QMenu:
        menu = QMenu(self.widget)
        menu.addSection(self.name)
        for kind, label in (("png", "Export PNG…"), ("svg", "Export SVG…"), ("csv", "Export CSV…")):
            action = menu.addAction(label)
            action.setObjectName(f"export{kind.upper()}")
            action.triggered.connect(lambda checked=False, kind=kind: self._ask_and_export(kind))
        return menu

    def _on_menu_requested(self, position) -> None:
        _switch_off_pyqtgraph_menus(self.widget)  # plots added since the menu was installed
        self.build_menu().popup(self.widget.mapToGlobal(position))

    def _ask_and_export(self, kind: str) -> None:
        suggested = self.last_folder / f"{_file_name(self.name)}.{kind}"
        path, _ = QFileDialog.getSaveFileName(self.widget, f"Export {self.name}", str(suggested), FORMATS[kind])
        if not path:
            return
        if not path.lower().endswith(f".{kind}"):
            path += f".{kind}"
        try:
            getattr(self, f"export_{kind}")(path)
        except (OSError, ValueError) as error:
            QMessageBox.warning(self.widget, "Export failed", str(error))
            return
        self.last_folder = Path(path).parent


def add_export_menu(plot_widget: QWidget, name: str, data_fn: Callable[[], object]) -> ExportMenu:
    """Give `plot_widget` a right-click menu: Export PNG…, Export SVG…, Export CSV… (of data_fn())."""
    menu = ExportMenu(plot_widget, name, data_fn)
    plot_widget.export_menu = menu  # keep it alive as long as the widget
    return menu


def _switch_off_pyqtgraph_menus(widget: QWidget) -> None:
    """pyqtgraph's own right-click menus would pop up beside ours; one clear menu is better."""
    if isinstance(widget, pg.GraphicsView):
        for item in widget.scene().items():
            if isinstance(item, pg.ViewBox):
                item.setMenuEnabled(False)


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "plot"
