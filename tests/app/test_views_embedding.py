"""The embedding panel shows the prompt's vectors, the vocabulary map, and a token's neighbours."""

import numpy as np
import pytest

from app.selection import Selection
from app.views.embedding_view import EmbeddingView
from core.teaching.analysis import nearest_neighbours, pca_2d
from view_snapshots import make_snapshot, token_ids


@pytest.fixture
def view(qtbot):
    widget = EmbeddingView(Selection(2, 2))
    qtbot.addWidget(widget)
    widget.resize(1000, 520)
    return widget


def test_heatmap_is_the_token_embeddings_of_the_prompt(view):
    snapshot = make_snapshot()
    view.show_snapshot(snapshot)
    assert view.objectName() == "embeddingView"
    np.testing.assert_array_equal(view.heatmap.matrix(), snapshot.trace.numpy("embed.tok"))
    np.testing.assert_array_equal(view.heatmap.matrix(), snapshot.vocab_embeddings[token_ids(snapshot)])
    assert view.heatmap.panel.row_labels == list(snapshot.token_labels)


def test_map_marks_the_prompt_tokens_on_the_vocabulary_projection(view):
    snapshot = make_snapshot()
    view.show_snapshot(snapshot)
    all_dots = np.column_stack(view.vocabulary_dots.getData())
    np.testing.assert_allclose(all_dots, snapshot.vocab_projection)
    unique = list(dict.fromkeys(token_ids(snapshot)))
    np.testing.assert_allclose(np.column_stack(view.prompt_dots.getData()), snapshot.vocab_projection[unique])
    shown_labels = [label.textItem.toPlainText() for label in view._dot_labels if label.isVisible()]
    assert shown_labels == [snapshot.vocab_labels[i] for i in unique]


def test_projection_is_made_here_when_the_snapshot_has_none(view):
    snapshot = make_snapshot(projection=False)
    view.show_snapshot(snapshot)
    np.testing.assert_allclose(view.projection(), pca_2d(snapshot.vocab_embeddings))
    first = view.projection()
    view.show_snapshot(snapshot)
    assert view.projection() is first  # made once per embedding matrix


def test_clicking_a_row_lists_its_nearest_neighbours(view):
    snapshot = make_snapshot()
    view.show_snapshot(snapshot)
    last = token_ids(snapshot)[-1]
    assert view.chosen_id == last  # starts with the last token
    view.heatmap.clicked.emit(1, 0)  # row 1: ' cat'
    cat = token_ids(snapshot)[1]
    expected = nearest_neighbours(snapshot.vocab_embeddings, cat, 10)
    assert view.neighbours() == expected
    first_line = view.neighbour_list.item(0).text()
    assert f"{expected[0][1]:+.3f}" in first_line and snapshot.vocab_labels[expected[0][0]] in first_line
    assert view.neighbour_list.count() == 10
    assert "␣cat" in view.neighbour_title.text()
    np.testing.assert_allclose(np.column_stack(view.chosen_dot.getData()), snapshot.vocab_projection[[cat]])


def test_clicking_a_dot_on_the_map_lists_its_neighbours(view):
    snapshot = make_snapshot()
    view.show_snapshot(snapshot)
    points = view.vocabulary_dots.points()
    view.vocabulary_dots.sigClicked.emit(view.vocabulary_dots, [points[40]], None)
    assert view.chosen_id == 40
    assert view.neighbours() == nearest_neighbours(snapshot.vocab_embeddings, 40, 10)


def test_theme_and_export(view, tmp_path):
    snapshot = make_snapshot()
    view.show_snapshot(snapshot)
    view.set_theme(True)
    view.scatter_plot.export_menu.export_csv(tmp_path / "pca.csv")
    lines = (tmp_path / "pca.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + snapshot.config.vocab_size
    label, x, y = lines[1].split(",")
    assert label == snapshot.vocab_labels[0]
    assert [float(x), float(y)] == pytest.approx(snapshot.vocab_projection[0].tolist(), rel=1e-6)
