"""The "why this next token?" panels draw the core's numbers on the default model and answer clicks."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from app.state.snapshot_maker import build_snapshot
from app.selection import Selection
from app.state.model_in_use import default_model
from app.views.attribution_view import AttributionView
from app.views.kv_cache_view import START_TEXT, KVCacheView
import app.views.logit_lens_view as logit_lens_view
from app.views.logit_lens_view import LogitLensView
from app.views.neurons_view import NeuronsView
from core.explain.attribution import direct_attribution
from core.explain.logit_lens import logit_lens
from core.explain.neurons import neuron_activations, neuron_effect, top_neurons
from core.model.trace import Intervention

PROMPT = "Tom and Lily went to the park. Tom gave a ball to"


@pytest.fixture(scope="module")
def session():
    session, notice = default_model()
    assert notice == ""  # the shipped model, not the untrained stand-in
    return session


@pytest.fixture(scope="module")
def snapshot(session):
    snapshot, _ = build_snapshot(session, PROMPT, Intervention())
    return snapshot


def make_view(qtbot, view_class, session, snapshot):
    view = view_class(Selection(session.config.n_layers, session.config.n_heads), SimpleNamespace(session=session))
    qtbot.addWidget(view)
    view.resize(1100, 600)
    view.show()
    view.show_snapshot(snapshot)
    return view


def label(snapshot, token_id) -> str:
    return snapshot.vocab_labels[int(token_id)]


# -- logit lens -------------------------------------------------------------------------------------
def test_logit_lens_grid_is_the_core_lens_and_its_last_row_the_prediction(qtbot, session, snapshot):
    view = make_view(qtbot, LogitLensView, session, snapshot)
    lens = logit_lens(session.model, snapshot.trace, k=10)
    np.testing.assert_array_equal(view.grid.matrix(), lens.top_probs[:, :, 0])
    predicted = snapshot.trace["logits"][0].argmax(dim=-1).numpy()  # (T,)
    assert view.shown_top_tokens()[-1] == [label(snapshot, t) for t in predicted]
    # before any click the bars show the model's own next-token top ten
    assert view.bars.labels == [label(snapshot, t) for t in lens.top_ids[-1, -1]]


def test_a_keystroke_reads_only_the_new_positions_through_the_head_and_a_what_if_reads_all(
    qtbot, session, snapshot, monkeypatch
):
    import core.explain.logit_lens as core_lens

    view = make_view(qtbot, LogitLensView, session, snapshot)
    read = []
    original = core_lens.logit_lens

    def counting(model, trace, k=10, batch=0, positions=None):
        read.append(trace.ids.shape[1] if positions is None else len(list(positions)))
        return original(model, trace, k=k, batch=batch, positions=positions)

    monkeypatch.setattr(core_lens, "logit_lens", counting)
    monkeypatch.setattr(logit_lens_view, "logit_lens", counting)
    typed, _ = build_snapshot(session, PROMPT + " the", Intervention())
    view.show_snapshot(typed)
    added = typed.n_tokens - snapshot.n_tokens
    assert read == [added]  # the prompt's start reads as before
    full = logit_lens(session.model, typed.trace, k=10)
    assert np.array_equal(view.lens.top_ids, full.top_ids)
    np.testing.assert_allclose(
        view.grid.matrix(), full.top_probs[:, :, 0], atol=1e-5
    )  # one row or many: float rounding
    what_if, _ = build_snapshot(session, PROMPT + " the", Intervention(ablate_heads={(0, 0)}))
    view.show_snapshot(what_if)
    assert read[-1] == what_if.n_tokens  # every stream after layer 0 changed: everything is read again
    np.testing.assert_allclose(
        view.grid.matrix(), logit_lens(session.model, what_if.trace, k=10).top_probs[:, :, 0], atol=1e-5
    )


def test_clicking_a_lens_cell_shows_its_top_ten(qtbot, session, snapshot):
    view = make_view(qtbot, LogitLensView, session, snapshot)
    view.grid.clicked.emit(1, 3)
    lens = view.lens
    assert view.bars.labels == [label(snapshot, t) for t in lens.top_ids[1, 3]]
    np.testing.assert_allclose(view.bars.values, lens.top_probs[1, 3])
    assert "layer 0" in view.detail.text() and "position 3" in view.detail.text()
    view.show_snapshot(snapshot)  # a keystroke keeps the clicked cell
    assert view.bars.labels == [label(snapshot, t) for t in lens.top_ids[1, 3]]


def test_a_big_model_s_lens_is_made_in_the_background_and_the_newest_prompt_wins(qtbot, session, snapshot, monkeypatch):
    monkeypatch.setattr(logit_lens_view, "MOST_WORK_ON_GUI_THREAD", 0)  # as if the model were big
    view = make_view(qtbot, LogitLensView, session, build_snapshot(session, "Tom and Lily", Intervention())[0])
    with qtbot.waitSignal(view.computed, timeout=60_000):
        view.show_snapshot(snapshot)  # arrives while the first prompt's lens is still being made
    np.testing.assert_array_equal(view.grid.matrix(), logit_lens(session.model, snapshot.trace).top_probs[:, :, 0])
    assert view.job is None and view.grid.matrix().shape[1] == snapshot.n_tokens


# -- direct attribution -----------------------------------------------------------------------------
def test_attribution_shows_the_core_shares_and_how_closely_they_add_up(qtbot, session, snapshot):
    view = make_view(qtbot, AttributionView, session, snapshot)
    expected = direct_attribution(session.model, snapshot.trace)
    np.testing.assert_allclose(view.heads.matrix(), expected.heads.astype(np.float32))
    labels, values = view.part_bars()
    assert view.parts.labels == labels and labels[0] == "embeddings"
    np.testing.assert_allclose(view.parts.values, values)
    assert expected.error < 1e-4
    text = view.summary.text()
    assert f"{expected.logit:.3f}" in text and "off by" in text


def test_attribution_of_a_logit_difference_and_a_clicked_head(qtbot, session, snapshot):
    view = make_view(qtbot, AttributionView, session, snapshot)
    view.target_field.setText(" Lily")
    view.other_field.setText(" Tom")
    tokenizer = session.tokenizer
    lily, tom = tokenizer.encode(" Lily")[0], tokenizer.encode(" Tom")[0]
    expected = direct_attribution(session.model, snapshot.trace, lily, tom)
    assert (view.attribution.target, view.attribution.other) == (lily, tom)
    np.testing.assert_allclose(view.heads.matrix(), expected.heads.astype(np.float32))
    assert "logit difference" in view.summary.text()
    view.heads.clicked.emit(2, 1)
    share = expected.heads[2, 1]
    assert "Layer 2 head 1</b> alone" in view.detail.text() and f"{abs(share):.3f}" in view.detail.text()


def test_a_word_of_several_tokens_gets_a_sentence_and_the_picture_stays(qtbot, session, snapshot):
    view = make_view(qtbot, AttributionView, session, snapshot)
    before = view.heads.matrix().copy()
    view.target_field.setText(" Zubakarov")
    assert view.problem.isVisibleTo(view) and "not one" in view.problem.text()
    np.testing.assert_array_equal(view.heads.matrix(), before)
    view.target_field.setText("")
    assert not view.problem.isVisibleTo(view)


# -- neurons ----------------------------------------------------------------------------------------
def test_neurons_heatmap_and_a_clicked_neuron(qtbot, session, snapshot):
    view = make_view(qtbot, NeuronsView, session, snapshot)
    view.layer_box.setValue(2)
    table = top_neurons(snapshot.trace, 2, 20)
    np.testing.assert_array_equal(view.heatmap.matrix(), table.activations.T)
    view.heatmap.clicked.emit(3, 0)
    neuron = int(table.neurons[3])
    assert view.neuron == neuron
    effect = neuron_effect(session.model, 2, neuron, 8)
    assert view.up.labels == [label(snapshot, t) for t in effect.up_ids]
    np.testing.assert_allclose(view.down.values, effect.down_values)
    assert f"Neuron {neuron} of layer 2" in view.heading.text()
    np.testing.assert_array_equal(view.tokens.values, neuron_activations(snapshot.trace, 2, neuron))
    assert [chip.label for chip in view.tokens.chips()] == list(snapshot.token_labels)


def test_a_keystroke_keeps_the_neuron_s_bars_and_a_theme_change_recolours_them(qtbot, session, snapshot):
    view = make_view(qtbot, NeuronsView, session, snapshot)
    drawn = view.up.bars.opts["brushes"]
    typed, _ = build_snapshot(session, PROMPT + " the", Intervention())
    view.show_snapshot(typed)
    assert view.up.bars.opts["brushes"] is drawn  # the effect is the weights': nothing to draw again
    shown = neuron_activations(typed.trace, view.layer_box.value(), int(view.table.neurons[0]))  # (T,) the new prompt's
    np.testing.assert_array_equal(view.tokens.values, shown)
    view.set_theme(True)
    assert view.up.bars.opts["brushes"] is not drawn
    assert view.up.bars.opts["brushes"][0].color() != drawn[0].color()
    assert view.up.getPlotItem().titleLabel.text == "pushes up"


# -- KV cache ---------------------------------------------------------------------------------------
def test_kv_cache_steps_reuse_the_prompt_keys(qtbot, session, snapshot):
    view = make_view(qtbot, KVCacheView, session, snapshot)
    view.selection.select(1, 2)
    layer, head = view.selected()
    for _ in range(3):
        view.step_button.click()
    T = snapshot.n_tokens
    keys = view.cached("key")
    assert keys.shape == (T + 2, session.config.d_head)  # the prompt, then one row per generated token
    traced = snapshot.trace.numpy(f"blocks.{layer}.attn.k")[head]  # (T, hs)
    np.testing.assert_allclose(keys[:T], traced, rtol=1e-4, atol=1e-5)
    steps = view.steps
    assert [s.n_new for s in steps] == [T, 1, 1] and steps[-1].n_cached == T + 1
    assert "Step 2" in view.counter.text() and "Saved so far" in view.counter.text()
    view.restart_button.click()
    assert view.steps == [] and view.counter.text() == START_TEXT and not view.cache.isVisibleTo(view)


def test_kv_cache_says_when_the_context_is_full(qtbot, session_factory):
    small = session_factory(context_length=8)
    snapshot, _ = build_snapshot(small, "abcdefg", Intervention())
    view = make_view(qtbot, KVCacheView, small, snapshot)
    for _ in range(3):
        view.step_button.click()
    assert "context is full" in view.counter.text() and not view.step_button.isEnabled()
    assert len(view.steps) == 2  # the prefill of 7 tokens and one more: 8 in all
    assert torch.is_tensor(view.steps[0].key)
