"""The bar plots' percentage axis keeps the drawing of each range it has shown, and draws it the same."""

from __future__ import annotations

from app.views.bar_plot import bar_plot, set_row_labels


def test_a_range_shown_before_reuses_its_drawing_and_looks_the_same(qtbot):
    plot = bar_plot("testPlot", "probability")
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    qtbot.waitExposed(plot)
    set_row_labels(plot, ["a", "b", "c"], 3)
    axis = plot.getPlotItem().getAxis("bottom")

    def show_range(x_max: float):
        plot.getPlotItem().setXRange(0, x_max, padding=0)
        image = plot.grab().toImage()  # paints the axis, drawing or reusing its picture
        return axis.picture, image

    first_picture, first_image = show_range(1.0)
    other_picture, other_image = show_range(0.25)
    again_picture, again_image = show_range(1.0)
    assert other_picture is not first_picture and other_image != first_image
    assert again_picture is first_picture and again_image == first_image
    assert axis.tickStrings([0.2, 0.4], 1, 0.2) == ["20%", "40%"]


def test_percentage_ticks_close_together_never_read_alike(qtbot):
    """The what-if plot's change axis at small ranges: ticks 0.025 points apart once all read '-0.1%'."""
    axis = bar_plot("testPlot", "change").getPlotItem().getAxis("bottom")
    assert axis.tickStrings([-0.00125, -0.001, -0.00075], 1, 0.00025) == ["-0.125%", "-0.100%", "-0.075%"]
    assert axis.tickStrings([0.001, 0.002], 1, 0.001) == ["0.1%", "0.2%"]
    assert axis.tickStrings([0.025, 0.05], 1, 0.025) == ["2.5%", "5.0%"]
    for spacing in (0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1):
        values = [spacing * k for k in range(-4, 5)]
        strings = axis.tickStrings(values, 1, spacing)
        assert len(set(strings)) == len(strings), strings


def test_an_empty_plot_keeps_its_range_while_it_waits_for_the_first_snapshot(qtbot):
    """The bars' numbers reach the view's right edge; an auto-ranged view chased them wider without end."""
    from app.views.probability_bars import ProbabilityBars

    plot = bar_plot("testPlot", "probability")
    qtbot.addWidget(plot)
    plot.addItem(ProbabilityBars())
    plot.resize(400, 300)
    plot.show()
    qtbot.waitExposed(plot)
    for _ in range(5):  # each paint would have widened the range again
        plot.grab()
        qtbot.wait(1)
    assert plot.getPlotItem().getViewBox().viewRange()[0] == [0.0, 1.0]


def test_the_row_label_column_keeps_the_width_of_the_widest_recent_labels(qtbot):
    """Typing a letter and deleting it flipped the next-token plot's label column between two widths, and
    each flip laid the plot out again. It now narrows only once the wide labels are ROOM_REMEMBERED sets old."""
    from app.views.bar_plot import ROOM_REMEMBERED

    plot = bar_plot("testPlot", "probability")
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    qtbot.waitExposed(plot)
    axis = plot.getPlotItem().getAxis("left")

    def room() -> float:  # the width the axis asks its plot's layout for
        return axis.minimumWidth()

    short, long = ["a", "b"], ["a much longer token label", "b"]
    set_row_labels(plot, short, 2)
    narrow = room()
    set_row_labels(plot, long, 2)
    wide = room()
    assert wide > narrow
    for _ in range(ROOM_REMEMBERED - 1):  # the long labels are still among the last few sets
        set_row_labels(plot, short, 2)
        assert room() == wide
    set_row_labels(plot, short, 2)
    assert room() == narrow
