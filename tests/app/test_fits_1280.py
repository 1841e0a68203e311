"""Every screen fits 1280x720: the window with the studio shown, the studio's detector plots, the Q/K/V
panel in the right column. Geometry only: what the layouts ask for, and where the numbers land."""

from __future__ import annotations

from itertools import pairwise

from PySide6.QtCore import QPointF, QSize
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QBoxLayout, QScrollArea

from app.settings import AppSettings
from app.window import MainWindow
from view_snapshots import make_snapshot

SCREEN = QSize(1280, 720)
FRAME = QSize(16, 48)  # what the desktop draws around a window (app.window_layout.fitted_size)


def test_the_window_with_the_studio_shown_fits_a_1280x720_screen(qtbot, tmp_path):
    from app.studio import show_training_studio

    window = MainWindow(
        settings=AppSettings(tmp_path / "settings.ini"), prompt="", remember_layout=False, size=SCREEN - FRAME
    )
    window.show()
    qtbot.waitExposed(window)
    try:
        room = SCREEN - FRAME
        before = window.minimumSizeHint()
        assert before.width() <= room.width() and before.height() <= room.height(), before
        show_training_studio(window)
        qtbot.waitUntil(lambda: window.studio is not None and window.studio.isVisible())
        studio_shown = window.minimumSizeHint()
        assert studio_shown.width() <= room.width() and studio_shown.height() <= room.height(), studio_shown
    finally:
        window.close()  # closed, not deleted: the studio's thread wrappers stay valid (see test_studio_window)


def test_the_studio_controls_wrap_instead_of_widening_it(qtbot):
    from app.studio.controls import ControlBar
    from app.studio.timeline_bar import TimelineBar

    for part in (ControlBar(), TimelineBar()):
        qtbot.addWidget(part)
        assert part.minimumSizeHint().width() <= 460, type(part).__name__


def test_the_heads_tab_stacks_on_a_narrow_studio_and_its_score_ticks_stay_apart(qtbot):
    from app.studio.heads_view import SCORE_TICKS, HeadsView

    view = HeadsView()
    qtbot.addWidget(view)
    assert 0 < view.minimumWidth() <= 440  # what the studio has beside the explorer at 1280 (it wins over the hint)
    view.resize(440, 700)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.arrangement.direction() == QBoxLayout.Direction.TopToBottom)
    qtbot.waitUntil(lambda: view.detectors.width() >= 400)  # the detector plots get the whole width
    for plot in view.detectors.widgets.values():
        axis, box = plot.getAxis("left"), plot.getViewBox()
        metrics = QFontMetrics(axis.style["tickFont"] or axis.font())
        labels = SCORE_TICKS[0]  # (value, text) of each tick
        heights = [box.mapViewToScene(QPointF(0, value)).y() for value, _ in labels]
        gaps = [abs(a - b) for a, b in pairwise(heights)]
        assert min(gaps) > metrics.height(), (plot.titleLabel.text, gaps)  # the numbers never overlap
        assert axis.width() > max(metrics.horizontalAdvance(text) for _, text in labels)  # nor are cut


def test_the_qkv_panel_fits_the_right_column_at_1280_without_scrolling_sideways(qtbot):
    from app.selection import Selection
    from app.views.qkv_view import QKVView

    view = QKVView(Selection(2, 2))
    qtbot.addWidget(view)
    view.show_snapshot(make_snapshot(text="The cat sat on the mat", n_layers=2, n_heads=2))
    scroll = view.findChild(QScrollArea)
    for width, per_row in ((480, 2), (1200, 4)):  # the right column at 1280 wide, and at 1920
        view.resize(width, 600)
        view.show()
        qtbot.waitExposed(view)
        qtbot.waitUntil(lambda per_row=per_row: view.matrices_per_row == per_row)
        qtbot.waitUntil(lambda: scroll.widget().width() <= scroll.viewport().width())
        assert scroll.horizontalScrollBar().maximum() == 0
