"""The attention panel shows the trace's numbers, explains a cell, and opens the head you click."""
import math

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.selection import Selection
from app.views.attention_view import AttentionView
from view_snapshots import make_snapshot


@pytest.fixture(scope="module")
def snapshot():
    return make_snapshot(n_layers=2, n_heads=3, d_model=24)


@pytest.fixture
def view(qtbot, snapshot):
    selection = Selection(2, 3)
    selection.select(1, 2)
    widget = AttentionView(selection)
    qtbot.addWidget(widget)
    widget.resize(1200, 520)
    widget.show_snapshot(snapshot)
    return widget


def pattern(snapshot, layer, head):
    return snapshot.trace.numpy(f"blocks.{layer}.attn.pattern")[head]


def test_the_heatmap_is_the_traced_pattern_with_the_future_masked(view, snapshot):
    assert view.objectName() == "attentionView"
    np.testing.assert_array_equal(view.shown_pattern(), pattern(snapshot, 1, 2))
    shown = view.heatmap.matrix()
    T = snapshot.n_tokens
    assert np.isnan(shown[0, 1]) and np.isnan(shown[T - 2, T - 1])   # masked, drawn hatched
    assert not np.isnan(np.tril(shown)).any()
    assert view.heatmap.panel.image.levels.tolist() == [0.0, 1.0]    # fixed, whatever the data
    assert view.heatmap.colorbar.levels() == (0.0, 1.0)


def test_hover_text_derives_the_weight_from_the_trace(view, snapshot):
    trace = snapshot.trace
    query, key = 5, 2
    q = trace.numpy("blocks.1.attn.q")[2]
    k = trace.numpy("blocks.1.attn.k")[2]
    d_head = q.shape[-1]
    view.heatmap.hovered.emit(query, key)
    text = view.derivation.text()
    assert f"= {q[query] @ k[key]:.3f}" in text
    assert f"÷√{d_head}" in text and f"= {q[query] @ k[key] / math.sqrt(d_head):.3f}" in text
    assert f"after softmax <b>{pattern(snapshot, 1, 2)[query, key]:.3f}</b>" in text
    assert snapshot.token_labels[query] in text and snapshot.token_labels[key] in text
    view.heatmap.hovered.emit(2, 5)
    assert "masked" in view.derivation.text()


def test_hovering_the_heatmap_with_the_mouse_reaches_the_derivation(view, qtbot):
    view.show()
    qtbot.waitExposed(view)
    panel = view.heatmap.panel
    scene_point = panel.plot.getViewBox().mapViewToScene(QPointF(1, 3))  # column 1, row 3
    with qtbot.waitSignal(view.heatmap.hovered) as signal:
        view.heatmap.scene().sigMouseMoved.emit(scene_point)
    assert signal.args == [3, 1]
    assert "(token 3)" in view.derivation.text() and "(token 1)" in view.derivation.text()


def test_grid_shows_every_head_and_a_click_opens_one(view, snapshot, qtbot):
    grid = view.grid.shown_patterns()
    assert grid.shape == (2, 3, snapshot.n_tokens, snapshot.n_tokens)
    for layer in range(2):
        np.testing.assert_array_equal(grid[layer], snapshot.trace.numpy(f"blocks.{layer}.attn.pattern"))
    view.show()
    qtbot.waitExposed(view)
    centre = view.grid.head_rect(0, 1).center()
    assert view.grid.head_at(centre) == (0, 1)
    with qtbot.waitSignal(view.selection.changed) as signal:
        view.grid.head_clicked.emit(*view.grid.head_at(centre))
    assert signal.args == [0, 1]
    np.testing.assert_array_equal(view.shown_pattern(), pattern(snapshot, 0, 1))  # redrawn on selection
    np.testing.assert_array_equal(view.arcs.shown_weights(), pattern(snapshot, 0, 1))


def test_a_real_mouse_click_on_a_thumbnail_selects_it(view, qtbot):
    view.show()
    qtbot.waitExposed(view)
    centre = view.grid.head_rect(1, 0).center().toPoint()
    with qtbot.waitSignal(view.selection.changed):
        qtbot.mouseClick(view.grid, Qt.LeftButton, pos=centre)
    assert (view.selection.layer, view.selection.head) == (1, 0)


def test_arcs_draw_the_pattern_and_describe_a_token(view, snapshot, qtbot):
    np.testing.assert_array_equal(view.arcs.shown_weights(), pattern(snapshot, 1, 2))
    best_key = int(np.argmax(pattern(snapshot, 1, 2)[4]))
    sentence = view.arcs.describe("query", 4)
    assert f"‘{snapshot.token_labels[best_key]}’ {pattern(snapshot, 1, 2)[4, best_key]:.2f}" in sentence
    with qtbot.waitSignal(view.arcs.token_hovered) as signal:
        view.arcs.set_hovered("key", 0)
    assert signal.args == ["key", 0]
    view.arcs.grab()  # paints with a token highlighted without error


def test_dark_theme_and_csv_export(view, snapshot, tmp_path):
    view.apply_theme(True)
    view.heatmap.export_menu.export_csv(tmp_path / "attention.csv")
    lines = (tmp_path / "attention.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",")[1] == snapshot.token_labels[0]
    second_row = lines[2].split(",")
    assert float(second_row[1]) == pytest.approx(float(pattern(snapshot, 1, 2)[1, 0]))
    assert second_row[3] == ""  # the future is masked, not a number


def test_the_hover_derivation_shows_whole_lines_in_a_narrow_panel(view, qtbot):
    view.resize(700, 200)  # a short panel, and the heatmap's column is then narrow: the derivation wraps into several lines
    view.show()
    qtbot.waitExposed(view)
    view.heatmap.hovered.emit(5, 2)
    label = view.derivation
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()))
    assert label.heightForWidth(label.width()) > 2 * label.fontMetrics().lineSpacing()  # it did wrap


def test_a_30_layer_grid_names_every_few_layers_the_chosen_one_always_and_clicks_still_land(qtbot):
    """SmolLM2's 30 layers in a short panel: the labels thin out instead of piling up, cells stay clickable."""
    from app.views.attention_grid import AttentionGrid, labelled

    assert labelled(12, pitch=20, label_size=15, chosen=3) == list(range(12))     # room for every label
    assert labelled(30, pitch=8, label_size=15, chosen=0) == list(range(0, 30, 2))
    assert labelled(30, pitch=8, label_size=15, chosen=17) == [0, 2, 4, 6, 8, 10, 12, 14, 17, 20, 22, 24, 26, 28]
    grid = AttentionGrid()
    qtbot.addWidget(grid)
    grid.resize(260, 300)
    patterns = np.tril(np.ones((30, 9, 5, 5))) / np.arange(1, 6)[:, None]   # (L, nh, T, T) uniform causal
    grid.set_patterns(patterns, (17, 7))
    rect = grid.head_rect(29, 8)
    assert rect.bottom() <= grid.height() and rect.right() <= grid.width() and rect.height() >= 4
    assert grid.head_at(grid.head_rect(17, 7).center()) == (17, 7)
    assert rect.left() == int(rect.left()) and rect.top() == int(rect.top())  # whole pixels: no seams
    grid.grab()  # paints with thinned labels without error
