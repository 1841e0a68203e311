"""The next-token bars' numbers: beside each bar, or inside it when the plot's edge would cut them."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontMetrics, QTransform

from app.views.plot_style import LEFT_MIDDLE, RIGHT_MIDDLE
from app.views.probability_bars import TEXT_GAP_PIXELS, ProbabilityBars


def test_numbers_sit_beside_their_bars_and_inside_a_bar_that_reaches_the_edge(qapp):
    bars = ProbabilityBars()
    bars.set_colours(outline="#6e6e73", solid="#2f6fde", text="#1d1d1f", muted="#6e6e73")
    bars.set_bars(
        outline=[0.93, 0.05, 0.02], solid=[0.95, 0.05, 0.0], texts=["95.0%", "5.0%", "cut"], cut=[False, False, True]
    )
    to_pixels = QTransform.fromScale(400, 20)  # probability 1.0 -> 400 px, one row -> 20 px
    placements = bars.text_placements(to_pixels, right_edge=400, metrics=QFontMetrics(QFont()))
    (inside, inside_align, inside_colour, _), (beside, beside_align, beside_colour, _), cut = placements
    assert inside_align == RIGHT_MIDDLE and inside.right() <= 0.95 * 400  # in the bar, left of its end
    assert inside_colour.name() == "#ffffff"  # white reads on the blue bar
    assert beside_align == LEFT_MIDDLE and beside.left() == 0.05 * 400 + TEXT_GAP_PIXELS
    assert beside.center().y() == 20 and beside_colour.name() == "#1d1d1f"
    assert cut[0].left() == 0.02 * 400 + TEXT_GAP_PIXELS and cut[2].name() == "#6e6e73"  # after the outline, muted
    assert bars.value_texts() == ["95.0%", "5.0%", "cut"]
