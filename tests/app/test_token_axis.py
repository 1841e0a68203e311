"""Token axes name every token where they fit: the labels shrink (down to a minimum) before any is left out."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics

from app.views.plot_style import TICK_POINT_SIZE, font
from app.views.token_axis import MIN_TICK_POINT_SIZE, TokenAxis


def _drawn(qtbot, rows: int, height: int):
    axis = TokenAxis("left")
    plot = pg.PlotWidget(axisItems={"left": axis})
    qtbot.addWidget(plot)
    axis.set_labels([chr(ord("a") + i % 26) for i in range(rows)])
    plot.getPlotItem().setYRange(-0.5, rows - 0.5, padding=0)
    plot.resize(300, height)
    plot.show()
    qtbot.waitExposed(plot)
    plot.grab()  # paints the axis
    return axis.drawn


def test_labels_that_fit_at_normal_size_are_all_drawn_at_it(qtbot):
    rows = 10
    shown, size = _drawn(qtbot, rows, 40 * rows)
    assert shown == list(range(rows)) and size == TICK_POINT_SIZE


def test_crowded_labels_shrink_instead_of_being_skipped(qtbot):
    rows = 30
    smallest = QFontMetrics(font(MIN_TICK_POINT_SIZE)).height()
    shown, size = _drawn(qtbot, rows, smallest * rows + 60)  # room for the smallest font, not the normal one
    assert shown == list(range(rows))
    assert MIN_TICK_POINT_SIZE <= size < TICK_POINT_SIZE


def test_below_the_smallest_font_every_other_label_is_left_out(qtbot):
    rows = 60
    shown, size = _drawn(qtbot, rows, 200)
    assert size == MIN_TICK_POINT_SIZE and 0 < len(shown) < rows


def _labelled(axis: TokenAxis, labels) -> tuple:
    axis.set_labels(labels)
    return axis._labels, axis._widths, axis._upright, axis._extent


def test_labels_set_keystroke_by_keystroke_equal_labels_set_at_once(qtbot):
    """Only the new labels are shortened and measured; the result is what a fresh axis gets."""
    typed = TokenAxis("bottom")
    words = ["The", " cat", " sat", " on", " an", " extraordinarily", " long", " mat"]
    prompts = [words[:n] for n in (1, 2, 3, 2, 3, 6, 8, 7)]
    prompts += [["The", " dog"] + words[2:], ["a"], words]  # an edit in the middle, a cut, a paste
    for labels in prompts:
        assert _labelled(typed, labels) == _labelled(TokenAxis("bottom"), labels), labels
    bigger = font(TICK_POINT_SIZE + 6)  # a new font (presenter mode): every width is measured again
    typed.setStyle(tickFont=bigger)
    fresh = TokenAxis("bottom")
    fresh.setStyle(tickFont=bigger)
    assert _labelled(typed, words) == _labelled(fresh, words)
    assert typed._widths[0] == QFontMetrics(bigger).horizontalAdvance("The")
