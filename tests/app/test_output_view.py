"""Next token: the bars are the model's numbers reshaped exactly as temperature/top-k/top-p say."""

from __future__ import annotations

import numpy as np

from app.views.export import write_csv


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def test_bars_follow_softmax_of_logits_over_temperature(window, show_prompt):
    snapshot = show_prompt("the cat sat")
    logits = snapshot.trace.numpy("logits")[-1].astype(np.float64)
    view = window.output_view
    for temperature in (1.0, 0.5, 2.0):
        view.set_temperature(temperature)  # as if the slider moved
        ids, probs = view.shown_distribution()
        expected = softmax(logits / temperature)
        assert len(ids) == view.rows_that_fit() >= 3  # as many rows as the panel can label
        assert list(ids) == list(np.argsort(-logits, kind="stable")[: len(ids)])
        np.testing.assert_allclose(probs, expected[ids], rtol=1e-5, atol=1e-7)
    assert view.temperature_label.text() == "2.00"


def test_top_k_keeps_k_tokens_and_renormalises(window, show_prompt):
    snapshot = show_prompt("the cat sat")
    logits = snapshot.trace.numpy("logits")[-1].astype(np.float64)
    window.output_view.top_k_spin.setValue(3)
    ids, probs = window.output_view.shown_distribution()
    best = softmax(logits)[ids[:3]]
    np.testing.assert_allclose(probs[:3], best / best.sum(), rtol=1e-5)
    assert np.all(probs[3:] == 0)
    assert window.output_view.bars.value_texts()[5] == "cut"


def test_greedy_next_token_appends_the_most_likely_token(window, show_prompt, wait_drawn, session):
    snapshot = show_prompt("the cat")
    best = int(np.argmax(snapshot.trace.numpy("logits")[-1]))
    window.output_view.greedy_check.setChecked(True)
    wait_drawn(window.output_view.next_button.click)
    assert window.controller.prompt == "the cat" + session.tokenizer.decode([best])


def test_generate_appends_n_tokens_one_snapshot_at_a_time(qtbot, window, show_prompt):
    show_prompt("the cat")
    drawn = []
    window.drawn.connect(drawn.append)
    view = window.output_view
    view.generate_count.setValue(5)
    with qtbot.waitSignal(view.generation_finished, timeout=20000):
        view.generate_button.click()
        assert view.generating and view.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10000)
    assert len(window.controller.prompt) == len("the cat") + 5  # one character per token here
    # every generated token was sampled from a fresh prediction: one drawn snapshot per token
    assert [s.n_tokens for s in drawn][-5:] == [8, 9, 10, 11, 12]
    assert view.generate_button.isEnabled() and not view.stop_button.isEnabled()


def test_export_csv_holds_the_bars(tmp_path, window, show_prompt):
    show_prompt("the cat")
    path = tmp_path / "bars.csv"
    write_csv(path, window.output_view._export_table())
    rows = path.read_text(encoding="utf-8").splitlines()
    ids, probs = window.output_view.shown_distribution()
    assert len([r for r in rows if not r.startswith("#")]) == 1 + len(ids)
    assert float(rows[2].split(",")[2]) == float(probs[0])
