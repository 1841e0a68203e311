"""The positional panel draws each scheme from the trace: learned, sinusoidal, RoPE and none."""

import numpy as np
import pytest

from app.selection import Selection
from app.views.positional_view import PositionalView
from core.teaching.analysis import cosine_similarity_matrix, rope_rotations
from core.model.positional import rope_angles, sinusoidal_table
from core.model.trace import Intervention
from view_snapshots import make_snapshot


@pytest.fixture
def view(qtbot):
    widget = PositionalView(Selection(2, 2))
    qtbot.addWidget(widget)
    widget.resize(1100, 760)
    return widget


def test_sinusoidal_heatmap_curves_similarity_and_sum(view):
    snapshot = make_snapshot(pos_encoding="sinusoidal")
    view.show_snapshot(snapshot)
    assert view.objectName() == "positionalView"
    positions = snapshot.trace.numpy("embed.pos")  # (T, C)
    np.testing.assert_array_equal(view.position_heatmap.matrix(), positions)
    np.testing.assert_allclose(view.similarity.matrix(), cosine_similarity_matrix(positions), atol=1e-6)
    # Curves run over the whole context so the sine waves show, and equal the model's own table.
    table = sinusoidal_table(snapshot.config.context_length, snapshot.config.d_model).numpy()
    curves = view.shown_curves()
    assert list(curves) == view.curve_dims == [0, 2, 4, 8]
    for dim, values in curves.items():
        np.testing.assert_allclose(values, table[:, dim], atol=1e-6)
    assert np.sign(np.diff(curves[0])).tolist().count(1) > 10  # it goes up and down: a wave
    tokens, added, total = (view.sum_heatmaps.matrix(panel) for panel in range(3))
    np.testing.assert_array_equal(tokens, snapshot.trace.numpy("embed.tok"))
    np.testing.assert_array_equal(added, positions)
    np.testing.assert_allclose(tokens + added, total, atol=1e-6)
    assert "Sinusoidal" in view.caption.text()


def test_picking_dimensions_by_typing_and_by_clicking_a_column(view, tmp_path):
    snapshot = make_snapshot(pos_encoding="sinusoidal")
    view.show_snapshot(snapshot)
    view.dims_edit.setText("1, 5")
    view.dims_edit.editingFinished.emit()
    assert list(view.shown_curves()) == [1, 5]
    view.position_heatmap.clicked.emit(0, 7)  # add dim 7
    assert list(view.shown_curves()) == [1, 5, 7]
    view.position_heatmap.clicked.emit(3, 1)  # remove dim 1
    assert list(view.shown_curves()) == [5, 7]
    view.dims_edit.setText("999")
    view.dims_edit.editingFinished.emit()
    assert "0 to 31" in view.dims_message.text() and list(view.shown_curves()) == [5, 7]
    view.curve_plot.export_menu.export_csv(tmp_path / "curves.csv")
    lines = (tmp_path / "curves.csv").read_text().splitlines()
    assert lines[0] == "position,dimension 5,dimension 7"
    table = sinusoidal_table(64, 32).numpy()
    assert [float(v) for v in lines[4].split(",")[1:]] == pytest.approx(table[3, [5, 7]].tolist(), abs=1e-6)


def test_learned_positions_come_from_the_trace(view):
    snapshot = make_snapshot(pos_encoding="learned")
    view.show_snapshot(snapshot)
    positions = snapshot.trace.numpy("embed.pos")
    np.testing.assert_array_equal(view.position_heatmap.matrix(), positions)
    assert len(view.shown_curves()[0]) == snapshot.n_tokens  # only the rows the trace has
    assert view.sum_heatmaps.panels[1].title == "+ position"


def test_rope_shows_rotation_angles_and_says_so(view):
    snapshot = make_snapshot(pos_encoding="rope")
    view.show_snapshot(snapshot)
    angles = snapshot.trace.numpy("embed.pos")  # (T, d_head/2)
    assert angles.shape == (snapshot.n_tokens, snapshot.config.d_head // 2)
    np.testing.assert_allclose(view.position_heatmap.matrix(), np.mod(angles, 2 * np.pi), atol=1e-6)
    full = rope_angles(64, snapshot.config.d_head).numpy()
    for pair, values in view.shown_curves().items():
        np.testing.assert_allclose(values, full[:, pair], atol=1e-6)
    np.testing.assert_allclose(view.similarity.matrix(), cosine_similarity_matrix(rope_rotations(angles)), atol=1e-6)
    assert "RoPE" in view.caption.text() and "angle" in view.caption.text()
    np.testing.assert_array_equal(view.sum_heatmaps.matrix(1), 0.0)  # nothing is added
    assert "RoPE" in view.sum_heatmaps.panels[1].title


def test_no_positional_encoding_is_said_and_nothing_is_added(view):
    snapshot = make_snapshot(pos_encoding="none")
    view.show()
    view.show_snapshot(snapshot)
    assert "No positional encoding" in view.caption.text()
    assert not view.position_heatmap.isVisible() and not view.curve_plot.isVisible()
    assert view.sum_heatmaps.isVisible()
    np.testing.assert_array_equal(view.sum_heatmaps.matrix(1), 0.0)
    np.testing.assert_array_equal(view.sum_heatmaps.matrix(0), view.sum_heatmaps.matrix(2))


def test_switched_off_by_a_what_if(view):
    snapshot = make_snapshot(pos_encoding="learned", intervention=Intervention(positional=False))
    view.show_snapshot(snapshot)
    assert "switched off" in view.caption.text()
    np.testing.assert_array_equal(view.sum_heatmaps.matrix(1), 0.0)
    np.testing.assert_array_equal(view.sum_heatmaps.matrix(0), view.sum_heatmaps.matrix(2))


def test_rope_curves_use_the_models_base_and_rotated_share(qtbot):
    snapshot = make_snapshot(pos_encoding="rope", config_changes=dict(rope_theta=500.0, rope_fraction=0.5))
    view = PositionalView(Selection(2, 2))
    qtbot.addWidget(view)
    view.show_snapshot(snapshot)
    angles = snapshot.trace.numpy("embed.pos")  # (T, rot/2): what the model turned by
    assert angles.shape[1] == snapshot.config.rotary_dims // 2 == 4
    for pair, values in view.shown_curves().items():  # drawn over the whole context, from the same angles
        np.testing.assert_allclose(values[: len(angles)], angles[:, pair], rtol=1e-6)
