"""The lesson pane: each step brings its panel forward, and its sentences hold this trace's numbers."""

import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt

from core.teaching.explain_numbers import explain_facts
from core.teaching.lesson_numbers import LessonContext, live_numbers, tokenizer_facts
from core.teaching.lessons import live_sentences
from core.teaching.teaching_numbers import positions_off
from core.model.param_count import count_parameters, human_count

from lesson_fixtures import PROMPT, classroom, shown  # noqa: F401  (fixtures)


def all_steps(classroom):
    for lesson_index, lesson in enumerate(classroom.lessons):
        for step_index, step in enumerate(lesson.steps):
            yield (lesson_index, step_index), step


def numbers_by_hand(window):
    """The numbers, from the window's snapshot, without going through the classroom."""
    snapshot, session = window.snapshot, window.controller.session
    ids = snapshot.trace.ids[0].tolist()
    return live_numbers(
        LessonContext(
            trace=snapshot.trace,
            token_labels=snapshot.token_labels,
            vocab_labels=snapshot.vocab_labels,
            config=snapshot.config,
            layer=window.selection.layer,
            head=window.selection.head,
            temperature=window.output_view.temperature,
            prompt=session.tokenizer.decode(ids),
            tokenizer=tokenizer_facts(session.tokenizer, ids),
            positions_off=positions_off(session.model, ids, snapshot.vocab_labels),
            explanation=explain_facts(session.model, snapshot.trace),
        )
    )


def test_every_step_brings_its_panel_forward_and_frames_it(qtbot, window, shown):
    pane, frame = shown.pane, shown.highlighter.frame
    for position, step in all_steps(shown):
        pane.go_to(*position)
        panel = shown.highlighter.find_panel(step.panel)
        assert panel is not None, f"{step.id} names {step.panel!r}, which the window does not have"
        framed = (shown.highlighter.find(step.highlight) if step.highlight else None) or panel
        qtbot.waitUntil(framed.isVisible, timeout=2000)  # its tab (and any inner tab) in front
        assert frame.isVisible() and frame.target is framed
        panel_rect = QRect(framed.mapTo(window, QPoint(0, 0)), framed.size())
        qtbot.waitUntil(lambda: frame.geometry().contains(panel_rect), timeout=2000)


def test_sentences_hold_the_numbers_of_this_trace(window, shown):
    pane = shown.pane
    expected = numbers_by_hand(window)
    for position, step in all_steps(shown):
        pane.go_to(*position)
        if step.id == "01-loss-gradient-update":
            continue  # adds a gradient step to the numbers: checked below
        assert pane.sentences() == live_sentences(step, expected), step.id
        for sentence in pane.sentences():
            assert sentence in pane.text.toPlainText()


def test_the_scores_step_quotes_the_traced_score(window, shown):
    shown.pane.go_to_ids("02-forward-pass", "10-scores-and-scaling")
    trace = window.snapshot.trace
    pattern = trace.numpy("blocks.0.attn.pattern")[0]  # (T, T)
    query = pattern.shape[0] - 1
    key = int(np.argmax(pattern[query]))
    score = float(trace.numpy("blocks.0.attn.scores")[0, query, key])
    d_head = window.snapshot.config.d_head
    (sentence,) = shown.pane.sentences()
    assert f"Token {query}'s query" in sentence and f"token {key}'s key" in sentence
    assert f"divided by √{d_head} = {math.sqrt(d_head):.2f} that is {score:.2f}" in sentence


def test_numbers_follow_the_chosen_head(qtbot, window, shown):
    shown.pane.go_to_ids("02-forward-pass", "12-softmax")
    before = shown.pane.sentences()
    window.selection.select(1, 1)
    trace = window.snapshot.trace
    weight = float(trace.numpy("blocks.1.attn.pattern")[1, -1].max())
    assert shown.pane.sentences() != before
    assert f"puts the weight {weight:.3f}" in shown.pane.sentences()[0]


def test_the_training_step_shows_a_real_gradient_step(window, shown):
    shown.pane.go_to_ids("03-training", "01-loss-gradient-update")
    sentences = shown.pane.sentences()
    update = next(s for s in sentences if s.startswith("One step of plain gradient descent"))
    before, after = (float(x) for x in update.split("loss from ")[1].split(". (")[0].split(" to "))
    assert after < before
    assert f"{live_numbers_loss(window):.3f}" == f"{before:.3f}"


def live_numbers_loss(window):
    return numbers_by_hand(window)["loss"]


def test_keyboard_moves_through_the_steps(qtbot, shown):
    pane = shown.pane
    last = len(pane.lessons[0].steps) - 1
    pane.go_to(0, last - 2)
    pane.text.setFocus()
    qtbot.keyClick(pane.text, Qt.Key.Key_Right)
    qtbot.keyClick(pane.text, Qt.Key.Key_Space)
    assert pane.position == (0, last)
    qtbot.keyClick(pane.text, Qt.Key.Key_Right)  # past the opening lesson's end: the next lesson
    assert pane.position == (1, 0)
    qtbot.keyClick(pane.text, Qt.Key.Key_Left)
    assert pane.position == (0, last)


def test_contents_jump_to_a_step(qtbot, shown):
    pane = shown.pane
    qtbot.mouseClick(pane.contents_button, Qt.MouseButton.LeftButton)
    assert pane.contents.isVisible()
    item = pane.contents.topLevelItem(1).child(8)
    pane.contents.scrollToItem(item)
    rect = pane.contents.visualItemRect(item)
    qtbot.mouseClick(pane.contents.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert pane.position == (1, 8) and pane.step.id == "09-query-key-value"


def test_model_size_panel_counts_this_model_and_gpt3(qtbot, window, shown):
    shown.pane.go_to_ids("01-what-is-an-llm", "02-large-means-parameters")
    view = shown.parameter_view
    qtbot.waitUntil(lambda: view.config == window.snapshot.config, timeout=3000)  # drawn once in front
    own = count_parameters(window.snapshot.config)
    assert own.total == window.controller.session.model.num_params()
    assert view.cell_text("total", 0) == human_count(own.total)
    assert view.cell_text("total", 3) == "174.6B"
    assert f"{own.total:,}" in shown.pane.sentences()[0]


def test_residual_panel_draws_the_stream_of_the_last_token(qtbot, window, shown):
    shown.pane.go_to_ids("02-forward-pass", "15-mlp-and-residual")
    trace = window.snapshot.trace
    last = trace.numpy("blocks.1.resid_post")[-1]

    def drawn() -> bool:
        stream = shown.residual_view.stream
        return stream is not None and np.isclose(stream.lengths[-1], np.linalg.norm(last), rtol=1e-5)

    qtbot.waitUntil(drawn, timeout=3000)  # drawn from this trace once in front
    stream = shown.residual_view.stream
    assert stream.added[0] == pytest.approx(float(np.linalg.norm(trace.numpy("embed.sum")[-1])), rel=1e-5)
    assert stream.stages == ("input", "0 +attn", "0 +MLP", "1 +attn", "1 +MLP")


def test_a_hidden_lesson_catches_up_when_shown(qtbot, window, shown, show_prompt):
    shown.pane.go_to_ids("02-forward-pass", "01-text-to-tokens")
    window.whatif_view.parentWidget().raise_()  # the What-if tab in front of the lesson
    qtbot.waitUntil(lambda: shown.lesson_dock.visibleRegion().isEmpty(), timeout=2000)
    show_prompt("a bat")
    assert shown.numbers_stale  # nothing computed while out of sight
    shown.show_lesson()
    qtbot.waitUntil(lambda: not shown.numbers_stale, timeout=2000)
    assert shown.pane.sentences()[0].startswith("Your prompt has 5 characters and became 5 tokens")


def test_the_same_model_features_again_leave_the_needs_bar_alone(qtbot, monkeypatch):
    """The studio shows a new model at every explorer update; the same features must not look up the
    built-in models and re-lay out the needs bar each time."""
    from app.lessons.lesson_pane import LessonPane
    from core.teaching.lesson_checks import NEEDS
    from core.teaching.lessons import load_lessons

    pane = LessonPane(load_lessons())
    qtbot.addWidget(pane)
    lesson_index, step_index = next(
        (li, si) for li, lesson in enumerate(pane.lessons) for si, step in enumerate(lesson.steps) if step.needs
    )
    pane.go_to(lesson_index, step_index)
    looked_up = []
    monkeypatch.setattr("app.lessons.lesson_pane.model_for", lambda needs: looked_up.append(needs))
    pane.set_model_features(frozenset())
    pane.set_model_features(frozenset())
    assert len(looked_up) == 1 and pane.unmet_needs()
    other = next(need for need in NEEDS if need not in pane.step.needs)
    pane.set_model_features(frozenset({other}))  # another model, still short of the step's needs: looked at again
    assert len(looked_up) == 2
