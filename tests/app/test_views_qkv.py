"""The Q/K/V panel shows the chosen head's vectors and each step of the chain, from the trace."""

import math

import numpy as np
import pytest

from app.selection import Selection
from app.views.qkv_view import QKVView
from view_snapshots import make_snapshot


@pytest.fixture(scope="module")
def snapshot():
    return make_snapshot(text="The cat sat on the mat", n_layers=2, n_heads=2)


@pytest.fixture
def view(qtbot, snapshot):
    selection = Selection(2, 2)
    widget = QKVView(selection)
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    widget.show_snapshot(snapshot)
    return widget


def traced(snapshot, name, layer, head):
    return snapshot.trace.numpy(f"blocks.{layer}.attn.{name}")[head]


def test_q_k_v_and_the_chain_equal_the_trace(view, snapshot):
    assert view.objectName() == "qkvView"
    shown = view.shown_matrices()
    for name, short in (("query", "q"), ("key", "k"), ("value", "v")):
        np.testing.assert_array_equal(shown[name], traced(snapshot, short, 0, 0))
    scores = traced(snapshot, "scores", 0, 0)
    d_head = snapshot.config.d_head
    np.testing.assert_allclose(shown["scores"], scores, rtol=1e-6)
    q, k = traced(snapshot, "q", 0, 0), traced(snapshot, "k", 0, 0)
    np.testing.assert_allclose(shown["dot_products"], q @ k.T, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(shown["dot_products"] / math.sqrt(d_head), scores, rtol=1e-5, atol=1e-7)


def test_masked_cells_are_drawn_masked_not_as_minus_infinity(view, snapshot, qtbot):
    shown = view.shown_matrices()
    masked = traced(snapshot, "masked_scores", 0, 0)
    assert np.array_equal(np.isnan(shown["masked_scores"]), np.isneginf(masked))
    kept = np.isfinite(masked)
    np.testing.assert_array_equal(shown["masked_scores"][kept], masked[kept])
    pattern = traced(snapshot, "pattern", 0, 0)
    np.testing.assert_array_equal(np.nan_to_num(shown["pattern"], nan=0.0), pattern)
    assert np.isnan(shown["pattern"][0, 1])
    # 6 tokens on a big panel: every cell prints its number, and masked ones say −∞
    view.resize(1600, 1000)
    view.show()
    qtbot.waitExposed(view)
    texts = [item.textItem.toPlainText() for item in view.chain["masked_scores"].panel._cell_texts if item.isVisible()]
    assert len(texts) == 36
    assert texts[1] == "−∞" and texts[6] == f"{masked[1, 0]:.2f}"


def test_selection_change_redraws_the_other_head(view, snapshot):
    view.selection.select(1, 1)
    np.testing.assert_array_equal(view.shown_matrices()["query"], traced(snapshot, "q", 1, 1))
    np.testing.assert_array_equal(np.nan_to_num(view.shown_matrices()["pattern"]), traced(snapshot, "pattern", 1, 1))
    assert "Layer 1 · head 1" in view.header.text()


def test_hovering_a_step_follows_the_cell_through_the_chain(view, snapshot):
    view.chain["scores"].hovered.emit(4, 1)
    text = view.derivation.text()
    q, k = traced(snapshot, "q", 0, 0), traced(snapshot, "k", 0, 0)
    assert f"q·k = {q[4] @ k[1]:.3f}" in text
    assert f"softmax <b>{traced(snapshot, 'pattern', 0, 0)[4, 1]:.3f}</b>" in text and "kept" in text
    for widget in view.chain.values():
        assert widget.panel.cursor.isVisible()
        assert widget.panel.cursor.rect().center().toTuple() == (1.0, 4.0)
    assert view.vectors["query"].panel.left_axis._highlight == 4
    view.chain["pattern"].hovered.emit(1, 4)
    assert "masked → −∞" in view.derivation.text()


def test_dark_theme_keeps_the_numbers(view, snapshot):
    view.set_theme(True)
    np.testing.assert_array_equal(view.shown_matrices()["value"], traced(snapshot, "v", 0, 0))


def test_grouped_query_heads_say_which_heads_share_their_key_and_value(qtbot):
    snapshot = make_snapshot(
        text="The cat sat on the mat",
        n_layers=1,
        n_heads=4,
        pos_encoding="rope",
        config_changes=dict(n_kv_heads=2, norm="rmsnorm", mlp="swiglu"),
    )
    view = QKVView(Selection(1, 4))
    qtbot.addWidget(view)
    view.show_snapshot(snapshot)
    view.selection.select(0, 3)
    header = view.header.text()
    assert "after RMSNorm" in header
    assert "key/value head 1 of 2, shared by query heads 2–3" in header
    # the key shown for head 3 is its group's, the same as head 2's
    np.testing.assert_array_equal(view.shown_matrices()["key"], traced(snapshot, "k", 0, 2))


def test_a_local_unscaled_layer_shows_its_window_and_raw_scores(qtbot):
    snapshot = make_snapshot(
        text="The cat sat on the mat",
        n_layers=1,
        n_heads=2,
        config_changes=dict(attention_windows=(2,), scale_scores=False),
    )
    view = QKVView(Selection(1, 2))
    qtbot.addWidget(view)
    view.show_snapshot(snapshot)
    shown = view.shown_matrices()
    q, k = traced(snapshot, "q", 0, 0), traced(snapshot, "k", 0, 0)
    np.testing.assert_allclose(shown["dot_products"], q @ k.T, rtol=1e-4, atol=1e-6)  # nothing to undo
    assert np.isnan(shown["pattern"][3, 1]) and not np.isnan(shown["pattern"][3, 2])  # 2 back: outside the window
    assert "keys over 1 back" in view.chain_captions["masked_scores"].text()
    assert "not scaled" in view.chain_captions["scores"].text()
    view.chain["scores"].hovered.emit(3, 1)
    assert "unscaled" in view.derivation.text() and "masked → −∞" in view.derivation.text()
