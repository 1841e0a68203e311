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
    assert np.isnan(shown[0, 1]) and np.isnan(shown[T - 2, T - 1])  # masked, drawn hatched
    assert not np.isnan(np.tril(shown)).any()
    assert view.heatmap.panel.image.levels.tolist() == [0.0, 1.0]  # fixed, whatever the data
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
    view.set_theme(True)
    view.heatmap.export_menu.export_csv(tmp_path / "attention.csv")
    lines = (tmp_path / "attention.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",")[1] == snapshot.token_labels[0]
    second_row = lines[2].split(",")
    assert float(second_row[1]) == pytest.approx(float(pattern(snapshot, 1, 2)[1, 0]))
    assert second_row[3] == ""  # the future is masked, not a number


def test_the_hover_derivation_shows_whole_lines_in_a_narrow_panel(view, qtbot):
    view.resize(
        700, 200
    )  # a short panel, and the heatmap's column is then narrow: the derivation wraps into several lines
    view.show()
    qtbot.waitExposed(view)
    view.heatmap.hovered.emit(5, 2)
    label = view.derivation
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()))
    assert label.heightForWidth(label.width()) > 2 * label.fontMetrics().lineSpacing()  # it did wrap


def test_a_30_layer_grid_names_every_few_layers_the_chosen_one_always_and_clicks_still_land(qtbot):
    """SmolLM2's 30 layers in a short panel: the labels thin out instead of piling up, cells stay clickable."""
    from app.views.attention_grid import AttentionGrid, labelled

    assert labelled(12, pitch=20, label_size=15, chosen=3) == list(range(12))  # room for every label
    assert labelled(30, pitch=8, label_size=15, chosen=0) == list(range(0, 30, 2))
    assert labelled(30, pitch=8, label_size=15, chosen=17) == [0, 2, 4, 6, 8, 10, 12, 14, 17, 20, 22, 24, 26, 28]
    grid = AttentionGrid()
    qtbot.addWidget(grid)
    grid.resize(260, 300)
    patterns = np.tril(np.ones((30, 9, 5, 5))) / np.arange(1, 6)[:, None]  # (L, nh, T, T) uniform causal
    grid.set_patterns(patterns, (17, 7))
    rect = grid.head_rect(29, 8)
    assert rect.bottom() <= grid.height() and rect.right() <= grid.width() and rect.height() >= 4
    assert grid.head_at(grid.head_rect(17, 7).center()) == (17, 7)
    assert rect.left() == int(rect.left()) and rect.top() == int(rect.top())  # whole pixels: no seams
    grid.grab()  # paints with thinned labels without error


def paint_full_size_thumbnails_over(grid, picture):
    """The grid as it was painted before pooling: every head's T x T colours scaled into its rect,
    then the frames again, over a grab of the grid (headers and background stay)."""
    from PySide6.QtGui import QImage, QPainter

    from app.views.attention_grid import coloured
    from app.views.plot_style import colours

    patterns = grid.shown_patterns()
    T = patterns.shape[-1]
    pixels = np.ascontiguousarray(coloured(patterns))  # (L, nh, T, T, 4)
    rects = grid._thumbnail_rects()
    painter = QPainter(picture)
    for layer, row in enumerate(rects):
        for head, rect in enumerate(row):
            painter.drawImage(rect, QImage(pixels[layer, head].data, T, T, 4 * T, QImage.Format_RGBA8888))
    grid._paint_frames(painter, colours(grid.dark), rects)
    painter.end()
    return picture


def test_a_grid_with_a_pixel_per_cell_paints_exactly_what_full_size_thumbnails_did(qtbot):
    from app.views.attention_grid import AttentionGrid

    grid = AttentionGrid()
    qtbot.addWidget(grid)
    grid.resize(400, 300)
    rng = np.random.default_rng(0)
    patterns = np.tril(rng.random((2, 3, 9, 9)))  # (L, nh, T, T)
    patterns /= patterns.sum(-1, keepdims=True)
    grid.set_patterns(patterns, (1, 2))
    assert grid.head_rect(0, 0).height() >= 9 and grid.head_rect(0, 0).width() >= 9
    shown = grid.grab().toImage()
    assert shown == paint_full_size_thumbnails_over(grid, shown.copy())
    assert grid.thumbnail_images()[0][0].size().toTuple() == (9, 9)  # not pooled


def test_a_long_prompt_is_max_pooled_to_the_thumbnail_s_pixels(qtbot):
    from app.views.attention_grid import AttentionGrid, coloured, max_pooled

    T = 200
    grid = AttentionGrid()
    qtbot.addWidget(grid)
    grid.resize(300, 240)
    patterns = np.zeros((2, 3, T, T))
    patterns[:, :, np.arange(T), np.arange(T)] = 1.0  # every head attends to itself: a thin diagonal
    grid.set_patterns(patterns, (0, 0))
    shown = grid.grab().toImage()
    rect = grid.head_rect(1, 2)
    rows, columns = int(rect.height()), int(rect.width())
    assert rows < T and columns < T
    image = grid.thumbnail_images()[1][2]
    expected = coloured(max_pooled(patterns[1, 2], rows, columns))  # (rows', columns', 4)
    assert (image.height(), image.width()) == expected.shape[:2]
    assert rows // 2 < image.height() <= rows and columns // 2 < image.width() <= columns  # about a pixel a cell
    for row in range(image.height()):
        for column in (0, image.width() // 2, image.width() - 1):
            assert image.pixelColor(column, row).getRgb() == tuple(int(c) for c in expected[row, column])
    for row, column in [(0, 0), (rows - 1, columns - 1), (0, columns - 1)]:  # the corners, as painted
        pixel = shown.pixelColor(int(rect.left()) + column, int(rect.top()) + row)
        picked = expected[row * expected.shape[0] // rows, column * expected.shape[1] // columns]
        assert pixel.getRgb() == tuple(int(c) for c in picked)
    # the diagonal stays at full strength (a mean would fade it to about 1/block of its weight)
    pooled = max_pooled(patterns[1, 2], rows, columns)
    assert pooled.max(axis=1).min() == 1.0 and pooled.max(axis=0).min() == 1.0  # every pixel row and column
    grid.resize(200, 160)  # a smaller thumbnail: coloured again at its new size
    grid.grab()
    assert grid.thumbnail_images()[1][2].height() <= int(grid.head_rect(1, 2).height()) < rows
    assert (
        grid.thumbnail_images()[1][2].height()
        == max_pooled(patterns[1, 2], int(grid.head_rect(1, 2).height()), 1).shape[0]
    )


def test_max_pooled_takes_the_largest_weight_of_each_block():
    from app.views.attention_grid import max_pooled

    rng = np.random.default_rng(1)
    patterns = rng.random((2, 7, 11))  # (heads, rows, columns): a shorter last block on purpose
    pooled = max_pooled(patterns, 3, 4)
    row_edges, column_edges = [0, 3, 6, 7], [0, 3, 6, 9, 11]  # blocks of ceil(7 / 3) rows, ceil(11 / 4) columns
    assert pooled.shape == (2, 3, 4)
    for r in range(3):
        for c in range(4):
            block = patterns[:, row_edges[r] : row_edges[r + 1], column_edges[c] : column_edges[c + 1]]
            np.testing.assert_array_equal(pooled[:, r, c], block.max(axis=(1, 2)))
    assert max_pooled(patterns, 7, 11) is patterns  # a pixel per cell: nothing changes


def test_the_grid_pools_a_trace_again_only_where_a_keystroke_changed_it(qtbot):
    """Over random edits (each trace extended from the one before, as the explorer does), the thumbnails
    pooled from only the changed blocks equal those pooled from every pattern in full."""
    import random

    import torch

    from app.views.attention_grid import AttentionGrid, max_pooled
    from core import GPT, GPTConfig
    from core.teaching.analysis import all_patterns

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, context_length=96, n_layers=6, n_heads=6, d_model=24))
    grid = AttentionGrid()
    qtbot.addWidget(grid)
    grid.resize(200, 200)  # thumbnails of about 25 pixels: blocks of several cells past 25 tokens
    rng = random.Random(0)
    ids, trace, blocks = [i % 16 for i in range(20)], None, set()
    for _ in range(60):
        edit = rng.choice(("append", "append", "append", "delete", "replace"))
        if edit == "append":
            ids = ids + [rng.randrange(16) for _ in range(rng.choice((1, 1, 3)))]
        elif edit == "delete":
            ids = ids[: -rng.randint(1, 3)]
        else:
            ids = ids[:-1] + [rng.randrange(16)]
        trace = model.trace(ids[-90:], previous=trace)
        grid.show_trace(trace, 6, (0, 0))
        images = grid.thumbnail_images()
        rect = grid.head_rect(0, 0)
        expected = max_pooled(all_patterns(trace, 6), int(rect.height()), int(rect.width()))
        np.testing.assert_array_equal(grid._pooling._pooled, expected)
        assert images[5][4].height() == expected.shape[2]
        blocks.add(grid._pooling._blocks)
    assert {(2, 2), (3, 3)} <= blocks  # the prompt outgrew the thumbnails
