"""The patching panel: different token counts get a sentence with pad/cut, the sweep runs in the background
and draws the core's scores, the estimate comes first, and Cancel leaves the last picture as it was.
Also: the five explanation panels are in the explorer window and draw there."""

from types import SimpleNamespace

import numpy as np
import pytest
import shiboken6

import app.views.explain_view as explain_view
import app.views.patching_view as patching_view
from app.state.snapshot_maker import build_snapshot
from app.selection import Selection
from app.state.model_in_use import default_model
from app.views.explain_panels import EXPLAIN_VIEWS
from app.views.patching_view import PatchingView
from core.explain.patching import patching_pair, sweep
from core.model.trace import Intervention

CLEAN = "Tom and Lily went to the park. Tom gave a ball to"
CORRUPTED = "Tom and Lily went to the park. Lily gave a ball to"
SHORTER = "Tom went to the park. Lily gave a ball to"
SWEEP_MS = 120_000  # the longest a sweep of the default model may take on a slow, busy machine


@pytest.fixture(scope="module")
def session():
    return default_model()[0]


def make_view(session) -> PatchingView:
    snapshot, _ = build_snapshot(session, CLEAN, Intervention())
    widget = PatchingView(Selection(session.config.n_layers, session.config.n_heads), SimpleNamespace(session=session))
    widget.resize(1000, 600)
    widget.show()
    widget.show_snapshot(snapshot)
    widget.corrupted_field.setText(CORRUPTED)
    widget.answer_field.setText(" Lily")
    widget.wrong_field.setText(" Tom")
    return widget


@pytest.fixture
def view(qtbot, session):
    widget = make_view(session)
    qtbot.addWidget(widget)
    yield widget
    if widget.job is not None:  # never leave a thread running past the test
        widget.cancel()
        widget.job.wait()


def run_sweep(qtbot, view, kind: str) -> None:
    view.kind_combo.setCurrentIndex(view.kind_combo.findData(kind))
    with qtbot.waitSignal(view.settled, timeout=SWEEP_MS):
        view.run_button.click()


def expected_scores(session, kind: str) -> np.ndarray:
    tokenizer = session.tokenizer
    pair = patching_pair(
        session.model,
        tokenizer.encode(CLEAN),
        tokenizer.encode(CORRUPTED),
        tokenizer.encode(" Lily")[0],
        tokenizer.encode(" Tom")[0],
    )
    return sweep(session.model, pair, kind).scores


@pytest.mark.parametrize("kind", ["heads", "residual"])
def test_the_sweep_draws_the_core_scores(qtbot, view, session, kind):
    run_sweep(qtbot, view, kind)
    assert view.result is not None and not view.result.cancelled
    np.testing.assert_allclose(
        view.heatmap.matrix(), expected_scores(session, kind).astype(np.float32), rtol=1e-4, atol=1e-4
    )
    assert "patched runs" in view.status.text() and not view.progress.isVisibleTo(view)
    assert view.run_button.isEnabled() and not view.cancel_button.isEnabled()
    view.heatmap.clicked.emit(0, 1)
    assert "from the clean run restores" in view.detail.text()


def test_cancel_in_the_middle_leaves_the_last_picture(qtbot, view, session, monkeypatch):
    run_sweep(qtbot, view, "heads")
    before = view.heatmap.matrix().copy()

    def cancelled_after_one_batch(model, pair, kind, batch_size, progress, cancel):
        def report(done, total):
            progress(done, total)
            cancel.set()  # as if Cancel were pressed while the first batch ran

        return sweep(model, pair, kind, batch_size, report, cancel)

    monkeypatch.setattr(patching_view, "sweep", cancelled_after_one_batch)
    view.batch_size = 1
    run_sweep(qtbot, view, "residual")
    assert "cancelled" in view.status.text()
    np.testing.assert_array_equal(view.heatmap.matrix(), before)  # nothing half-drawn
    assert view.result.kind == "heads"
    assert view.run_button.isEnabled() and not view.progress.isVisibleTo(view)


def test_cancel_while_preparing_starts_no_sweep(qtbot, view):
    with qtbot.waitSignal(view.settled, timeout=SWEEP_MS):
        view.run_button.click()
        view.cancel_button.click()
    assert view.result is None and view.heatmap.matrix() is None
    assert "cancelled" in view.status.text()


def test_closing_the_panel_while_it_works_leaves_no_thread_behind(qtbot, session):
    view = make_view(session)  # not qtbot's: this test deletes it
    view.run_button.click()
    job = view.job
    view.close()
    view.deleteLater()
    assert job.wait(SWEEP_MS)
    # its result is never handed to the deleted panel (no sweep starts after the preparation)
    qtbot.waitUntil(lambda: not shiboken6.isValid(view) and job not in explain_view._running)
    assert not explain_view._running


def test_a_long_sweep_waits_for_a_second_click(qtbot, view, monkeypatch):
    monkeypatch.setattr(patching_view, "CONFIRM_SECONDS", 0.0)
    run_sweep(qtbot, view, "heads")
    assert view.result is None and view.run_button.text().startswith("Start anyway")
    assert f"{view.estimate.forward_passes} patched runs" in view.status.text()
    with qtbot.waitSignal(view.settled, timeout=SWEEP_MS):
        view.run_button.click()
    assert view.result is not None and view.run_button.text() == "Run sweep"


def test_different_token_counts_get_a_sentence_and_pad_or_cut(qtbot, view, session):
    view.corrupted_field.setText(SHORTER)
    clean, shorter = session.tokenizer.encode(CLEAN), session.tokenizer.encode(SHORTER)
    text = view.problem.text()
    assert f"{len(clean)} tokens" in text and f"{len(shorter)}" in text and "Pad the shorter" in text
    assert view.pad_button.isVisibleTo(view) and view.cut_button.isVisibleTo(view)
    view.run_button.click()
    assert view.job is None  # nothing starts while the prompts do not line up
    view.pad_button.click()
    padded_clean, padded = view.prompts()
    assert padded_clean == clean and len(padded) == len(clean) and padded[-len(shorter) :] == shorter
    assert f"Both prompts now have {len(clean)} tokens" in view.problem.text()
    assert not view.pad_button.isVisibleTo(view)
    view.corrupted_field.setText(SHORTER + " it")  # typing forgets the padding
    assert view.pad_button.isVisibleTo(view)
    view.corrupted_field.setText(SHORTER)
    view.cut_button.click()
    cut_clean, cut = view.prompts()
    assert cut == shorter and cut_clean == clean[-len(shorter) :]


def test_a_token_the_tokenizer_splits_gets_a_sentence(qtbot, view):
    view.answer_field.setText(" Zubakarov")
    view.run_button.click()
    assert view.job is None and "not one" in view.problem.text()


def test_the_panels_are_in_the_window_and_draw(qtbot, shared_window):
    window = shared_window
    titles = {action.text() for action in window.menus["View"].actions()}
    window.prompt_view.set_text("abc cab")
    for _, class_name, name in EXPLAIN_VIEWS:
        panel = next(p for p in window.panels if p.widget.objectName() == name)
        assert panel.dock.windowTitle() in titles
        panel.dock.raise_()
        widget = window.find_widget(name)
        assert type(widget).__name__ == class_name
        qtbot.waitUntil(lambda widget=widget: widget.snapshot is not None and not window.controller.busy)
        assert widget.snapshot is window.controller.snapshot
