"""The shared heatmap: numbers in place, masked cells left out, token ticks, hover and CSV."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF

from app.views.heatmap import HeatmapWidget, format_value
from app.views.plot_style import SIGNED_MAP


def test_format_value_is_short():
    assert [format_value(v) for v in (0.4213, -1.3, 12.4, -np.inf)] == ["0.42", "-1.30", "12", "−∞"]


def test_matrix_levels_labels_and_mask(qtbot):
    heatmap = HeatmapWidget(title="test")
    qtbot.addWidget(heatmap)
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    masked = np.zeros((3, 4), dtype=bool)
    masked[0, 3] = True
    heatmap.set_matrix(values, (-12.0, 12.0), ["a", "b", "an extraordinarily long token"], None, masked=masked)
    shown = heatmap.matrix()
    assert np.isnan(shown[0, 3]) and shown[2, 1] == 9.0
    assert heatmap.panel.image.levels.tolist() == [-12.0, 12.0] and heatmap.colorbar.levels() == (-12.0, 12.0)
    assert heatmap.panel.left_axis._labels[2] == "an extraord…"  # shortened, never cut mid-screen
    assert heatmap.panel.bottom_axis._labels is None  # columns are plain numbers
    heatmap.set_matrix(values + 1, (-12.0, 12.0), ["a", "b", "c"], None)
    assert not np.isnan(heatmap.matrix()).any()  # a new matrix, nothing masked
    assert not heatmap.panel.hatch.isVisible()


def test_hover_and_click_give_row_and_column(qtbot):
    heatmap = HeatmapWidget()
    qtbot.addWidget(heatmap)
    heatmap.resize(400, 300)
    heatmap.set_matrix(np.zeros((5, 6)), (0.0, 1.0), list("abcde"), list("uvwxyz"))
    heatmap.show()
    qtbot.waitExposed(heatmap)
    box = heatmap.panel.plot.getViewBox()
    with qtbot.waitSignal(heatmap.hovered) as signal:
        heatmap.scene().sigMouseMoved.emit(box.mapViewToScene(QPointF(4.2, 1.9)))
    assert signal.args == [2, 4]
    assert heatmap.panel.cursor.isVisible() and heatmap.panel.left_axis._highlight == 2
    with qtbot.waitSignal(heatmap.hovered) as signal:
        heatmap.scene().sigMouseMoved.emit(box.mapViewToScene(QPointF(9.0, 1.0)))  # outside the matrix
    assert signal.args == [-1, -1] and not heatmap.panel.cursor.isVisible()


def test_side_by_side_panels_export_as_one_table(qtbot, tmp_path):
    heatmap = HeatmapWidget(panel_titles=("token", "+ position", "= input"))
    qtbot.addWidget(heatmap)
    for panel in range(3):
        heatmap.set_matrix(np.full((2, 2), panel, dtype=float), (-3.0, 3.0), ["x", "y"], None, panel=panel)
    heatmap.export_menu.export_csv(tmp_path / "sum.csv")
    lines = (tmp_path / "sum.csv").read_text().splitlines()
    assert lines[0] == ",token: 0,token: 1,+ position: 0,+ position: 1,= input: 0,= input: 1"
    assert [float(v) for v in lines[2].split(",")[1:]] == pytest.approx([0, 0, 1, 1, 2, 2])


def test_a_long_title_wraps_in_a_narrow_plot_instead_of_being_cut(qtbot):
    import numpy as np
    from PySide6.QtGui import QFontMetrics

    from app.views.heatmap import HeatmapWidget
    from app.views.plot_style import TITLE_POINT_SIZE, font

    title = "Rotation angle θ mod 2π (radians) per position and pair"
    widget = HeatmapWidget(title=title)
    qtbot.addWidget(widget)
    widget.set_matrix(np.zeros((3, 3)), (0.0, 1.0))
    widget.resize(900, 300)
    widget.show()
    qtbot.waitExposed(widget)
    panel = widget.panels[0]
    qtbot.waitUntil(lambda: panel.shown_title() == title)  # wide: one line
    widget.resize(260, 300)
    qtbot.waitUntil(lambda: "<br>" in panel.shown_title())
    metrics = QFontMetrics(font(TITLE_POINT_SIZE))
    lines = panel.shown_title().split("<br>")
    assert " ".join(lines) == title  # every word is still there
    centre = panel.plot.getViewBox().geometry().center().x()  # the title is centred over the matrix
    assert all(metrics.horizontalAdvance(line) / 2 <= min(centre, panel.plot.width() - centre) for line in lines)
    qtbot.waitUntil(lambda: panel.plot.titleLabel.height() >= len(lines) * metrics.lineSpacing())  # no line cut


def test_a_short_colour_bar_labels_fewer_ticks_so_its_numbers_never_overlap(qtbot):
    from PySide6.QtGui import QFontMetrics

    from app.views import plot_style

    widget = HeatmapWidget(title="embeddings")
    qtbot.addWidget(widget)
    widget.set_matrix(np.linspace(-0.3, 0.3, 12).reshape(3, 4), (-0.3, 0.3))
    widget.resize(400, 500)
    widget.show()
    qtbot.waitExposed(widget)
    bar = widget.colorbar
    qtbot.waitUntil(lambda: len(bar.tick_labels()) == 5)
    plot_style.set_zoom(2.0)  # numbers twice as tall (as zoomed in, or presenting) on a short panel
    try:
        widget.set_theme(False)
        widget.resize(400, 180)
        qtbot.waitUntil(lambda: len(bar.tick_labels()) < 5)
        line = QFontMetrics(bar.axis.style["tickFont"]).height()
        assert bar.view.height() / (len(bar.tick_labels()) - 1) >= line  # a label's height between ticks
        assert bar.tick_labels()[0] == "-0.3" and bar.tick_labels()[-1] == "0.3"  # the ends stay labelled
    finally:
        plot_style.set_zoom(1.0)


def test_a_heatmap_whose_title_and_colour_bar_depend_on_each_other_settles(qtbot):
    """Fewer ticks on a shorter bar must not make the bar narrower: the matrix would widen, its title
    take fewer lines, the bar grow taller, the ticks come back, and the layout go round for ever."""
    from PySide6.QtWidgets import QApplication

    widget = HeatmapWidget(title="V: what each token passes on", column_name="dimension")
    qtbot.addWidget(widget)
    widget.setMinimumSize(170, 130)
    widget.hide_row_labels()  # (no matrix yet: the bar's ticks are 0, 0.25, ..., 1; 0 and 1 when short)
    widget.resize(214, 154)  # the size at which the QKV view's value matrix went round beside the studio
    widget.show()
    qtbot.waitExposed(widget)
    for _ in range(20):
        QApplication.processEvents()  # whatever layout the size needs
    resizes = []
    widget.panels[0].plot.getViewBox().sigResized.connect(lambda *_: resizes.append(1))
    for _ in range(20):
        QApplication.processEvents()
    assert resizes == []  # a settled layout: nothing resizes while nothing changes


def cell_texts(heatmap) -> list[tuple[str, int, tuple[float, float]]]:
    """What each visible cell number shows: its text, colour and place."""
    return [
        (item.textItem.toPlainText(), item.color.rgba(), (item.pos().x(), item.pos().y()))
        for item in heatmap.panel._cell_texts
        if item.isVisible()
    ]


def test_cell_numbers_are_set_again_only_where_they_changed_and_draw_as_if_set_afresh(qtbot, monkeypatch):
    values = np.random.default_rng(0).uniform(-2, 2, (4, 4)).astype(np.float32)
    kept = HeatmapWidget(title="Contributions", colormap_name=SIGNED_MAP)
    fresh = HeatmapWidget(title="Contributions", colormap_name=SIGNED_MAP)
    for heatmap in (kept, fresh):
        qtbot.addWidget(heatmap)
        heatmap.resize(400, 360)
        heatmap.show()
    kept.set_matrix(values * 0.5, (-3.0, 3.0))  # an earlier keystroke's numbers, then this one's
    set_texts = []
    real_set = pg.TextItem.setText
    monkeypatch.setattr(pg.TextItem, "setText", lambda item, *args: set_texts.append(args) or real_set(item, *args))
    changed = values * 0.5
    changed[1, 2] = 1.75
    kept.set_matrix(changed, (-3.0, 3.0))
    assert [text for text, _ in set_texts] == ["1.75"]  # one cell changed: one text set
    kept.set_matrix(changed, (-3.0, 3.0))
    assert len(set_texts) == 1  # nothing changed: nothing set
    kept.set_matrix(values, (-3.0, 3.0))
    fresh.set_matrix(values, (-3.0, 3.0))
    assert [text for text, _, _ in cell_texts(kept)] == [format_value(v) for v in values.ravel()]
    assert cell_texts(kept) == cell_texts(fresh)


def test_the_colour_bar_keeps_its_width_while_the_range_changes_a_little_and_gives_it_back_later(qtbot):
    """Attribution's range changes on every keystroke: its labels a little wider or narrower each time."""
    from app.views.colour_bar import WIDTHS_REMEMBERED

    heatmap = HeatmapWidget(title="Each head's direct share", colormap_name=SIGNED_MAP)
    qtbot.addWidget(heatmap)
    values = np.zeros((4, 4), dtype=np.float32)
    axis = heatmap.colorbar.axis
    heatmap.set_matrix(values, (-0.5, 0.5))
    narrow = axis.maximumWidth()
    heatmap.set_matrix(values, (-123456.0, 123456.0))  # "-1.23e+05": wider labels widen it at once
    wide = axis.maximumWidth()
    assert wide > narrow
    heatmap.set_matrix(values, (-0.5, 0.5))  # shorter labels: the width stays, nothing is laid out again
    assert axis.maximumWidth() == wide
    for step in range(1, WIDTHS_REMEMBERED):  # ranges of their own, each remembered
        heatmap.set_matrix(values, (-0.5 + step / 100, 0.5 - step / 100))
    alone = HeatmapWidget(title="Each head's direct share", colormap_name=SIGNED_MAP)
    qtbot.addWidget(alone)
    alone.set_matrix(values, (-0.5 + step / 100, 0.5 - step / 100))
    assert axis.maximumWidth() == alone.colorbar.axis.maximumWidth() < wide  # the wide labels are forgotten
