"""The right-click export menu writes the plot's numbers, picture and drawing."""

import csv

import numpy as np
import pyqtgraph as pg

from app.views.export import ExportTable, add_export_menu, write_csv


def test_menu_offers_png_svg_csv_and_hides_pyqtgraphs_own(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    menu = add_export_menu(widget, "loss curve", lambda: np.arange(3.0))
    labels = [action.text() for action in menu.build_menu().actions() if not action.isSeparator()]
    assert labels[-3:] == ["Export PNG…", "Export SVG…", "Export CSV…"]
    assert widget.export_menu is menu
    assert not widget.getPlotItem().getViewBox().menuEnabled()


def test_csv_holds_the_numbers_with_their_labels(qtbot, tmp_path):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    pattern = np.array([[1.0, np.nan], [0.25, 0.75]])
    table = ExportTable(pattern, row_labels=["The", " cat"], column_labels=["The", " cat"], corner="query \\ key")
    menu = add_export_menu(widget, "attention L0 H1", lambda: table)
    menu.export_csv(tmp_path / "pattern.csv")
    rows = list(csv.reader(open(tmp_path / "pattern.csv", encoding="utf-8")))
    assert rows[0] == ["query \\ key", "The", " cat"]
    assert rows[1] == ["The", "1.0", ""]  # a masked cell is left empty
    assert [float(v) for v in rows[2][1:]] == [0.25, 0.75]


def test_bare_vector_becomes_one_numbered_column(tmp_path):
    write_csv(tmp_path / "v.csv", np.array([0.5, 1.5]))
    assert open(tmp_path / "v.csv").read().splitlines() == [",0", "0,0.5", "1,1.5"]


def test_png_and_svg_are_written(qtbot, tmp_path):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.plot([1, 3, 2])
    widget.resize(200, 150)
    menu = add_export_menu(widget, "curve", lambda: np.zeros(1))
    menu.export_png(tmp_path / "c.png")
    menu.export_svg(tmp_path / "c.svg")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "c.svg").read_text()
