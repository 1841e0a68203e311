"""Lessons 1 to 4 walked through in the real window on the built-in models: every "try this" is
performed as a student would (open the model the step offers, type the prompt, tick the head, switch
positions off, move the temperature, train in the studio) and each of its `expect:` lines is checked
on the numbers computed from the window's own snapshot. Then every question is answered."""

from __future__ import annotations

import html

import pytest
from PySide6.QtCore import Qt

from app.settings import AppSettings
from app.state.comparison import DIFFERENCE, Comparison
from app.window import MainWindow
from core.teaching.lesson_checks import failed, head_of, model_for
from core.teaching.lesson_questions import answer_numbers
from core.teaching.lessons import fill, load_lessons

LESSONS = ("01-what-is-an-llm", "02-forward-pass", "03-training", "04-why-this-token")
ALL = [lesson for lesson in load_lessons() if lesson.id in LESSONS]
TRIES = [(lesson.id, step.id) for lesson in ALL for step in lesson.steps if step.try_this]
QUESTION_PAGES = [(lesson.id, step.id) for lesson in ALL for step in lesson.steps if step.questions]
WAIT_MS = 120_000
TYPED_PROMPT = 60  # ASCII prompts up to this long are typed key by key; others are pasted
PLAIN_PROMPT = "Anna met Ben at the park."  # for a try that names no prompt


@pytest.fixture(scope="module")
def lab(qapp, tmp_path_factory):
    """The app as it opens: the default model, the lesson pane, the studio."""
    window = MainWindow(
        settings=AppSettings(tmp_path_factory.mktemp("lab") / "settings.ini"), prompt="", remember_layout=False
    )
    window.resize(1600, 1000)
    window.show()
    yield window
    window.close()


def shows(window, text: str) -> bool:
    """The window has drawn the snapshot of `text` on the model on screen, with nothing pending."""
    controller, snapshot = window.controller, window.snapshot
    if controller.busy or snapshot is None or controller.prompt != text:
        return False
    ids = controller.session.tokenizer.encode(text)[-controller.session.config.context_length :]
    return snapshot.trace.ids[0].tolist() == ids and snapshot.config == controller.session.config


def type_prompt(qtbot, window, text: str) -> None:
    editor = window.prompt_view.editor
    editor.setFocus()
    editor.selectAll()
    if len(text) <= TYPED_PROMPT and text.isascii():  # Qt's test keyboard has ASCII keys only
        qtbot.keyClick(editor, Qt.Key.Key_Delete)
        qtbot.keyClicks(editor, text)
    else:
        editor.insertPlainText(text)  # a paste
    qtbot.waitUntil(lambda: shows(window, text), timeout=WAIT_MS)


def put_back(qtbot, window) -> None:
    """Temperature 1, no what-if, head 0.0: each try starts from the window as it opens."""
    window.output_view.set_temperature(1.0)
    if not window.controller.intervention.is_empty:
        window.whatif_view.reset()
        qtbot.waitUntil(
            lambda: window.snapshot.trace.intervention.is_empty and not window.controller.busy, timeout=WAIT_MS
        )
    window.layer_selector.setValue(0)
    window.head_selector.setValue(0)
    if window.controller.comparison != Comparison():
        with qtbot.waitSignal(window.drawn, timeout=WAIT_MS, check_params_cb=lambda _: not window.controller.busy):
            window.controller.set_comparison(Comparison())  # one prompt again


def open_the_model_the_step_needs(qtbot, window, pane) -> None:
    """A built-in model that can show the step: the one on screen, else the one the pane offers."""
    if not pane.step.action.train and not window.controller.session.path:  # a studio run's model
        with qtbot.waitSignal(window.drawn, timeout=WAIT_MS):
            window.models.load_default_model()
    if pane.unmet_needs():
        offer = model_for(pane.step.needs)
        assert offer is not None, f"{pane.step.id}: no built-in model has what it needs ({pane.step.needs})"
        assert pane.needs_bar.isVisible() and pane.open_model_button.isVisible()
        assert pane.open_model_button.text() == f"Open {offer.name}"
        with qtbot.waitSignal(window.controller.session_changed, timeout=WAIT_MS):
            qtbot.mouseClick(pane.open_model_button, Qt.MouseButton.LeftButton)
        assert window.controller.session.path == str(offer.folder)
    assert not pane.unmet_needs() and not pane.needs_bar.isVisible()


def train_in_studio(qtbot, window, steps: int) -> None:
    studio = window.ensure_studio()
    if studio.run is None:
        with qtbot.waitSignal(studio.run_ready, timeout=WAIT_MS):
            studio.set_up(studio.setup_panel.setup())
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(steps)
    controller = window.controller  # the explorer shows the trained weights once their snapshot is in
    qtbot.waitUntil(lambda: not controller.busy and controller.snapshot_session is controller.session, timeout=WAIT_MS)


@pytest.mark.parametrize("lesson_id, step_id", TRIES)
def test_try_this_happens_on_a_built_in_model(qtbot, lab, lesson_id, step_id):
    classroom, pane = lab.classroom, lab.classroom.pane
    classroom.show_lesson()
    put_back(qtbot, lab)
    assert pane.go_to_ids(lesson_id, step_id)
    action = pane.step.action
    assert action.expect, f"{step_id}: its 'try this' writes down no expected outcome (add 'expect:' lines)"
    open_the_model_the_step_needs(qtbot, lab, pane)

    if action.train:
        train_in_studio(qtbot, lab, action.train)
    prompt = action.prompt or (None if action.train else PLAIN_PROMPT)  # the studio's model reads its own text
    if prompt is not None and not shows(lab, prompt):
        type_prompt(qtbot, lab, prompt)
    if action.select:
        chosen = head_of(action.select, classroom.numbers_for(pane.step))
        assert chosen is not None, f"{step_id}: 'select: {action.select}' names no head for this prompt"
        layer, head = chosen
        lab.layer_selector.setValue(layer)  # tick the head, as a student would
        lab.head_selector.setValue(head)
        assert (lab.selection.layer, lab.selection.head) == (layer, head)
    if action.temperature is not None:
        lab.output_view.temperature_slider.setValue(round(action.temperature * 100))
    if action.switch_off:
        box = (
            lab.whatif_view.positional_off
            if action.switch_off == "positions"
            else lab.whatif_view.head_boxes[(lab.selection.layer, lab.selection.head)]
        )
        box.setChecked(True)
        qtbot.waitUntil(
            lambda: not lab.snapshot.trace.intervention.is_empty and not lab.controller.busy, timeout=WAIT_MS
        )

    if action.compare:  # a second prompt in the Compare bar, and Difference pressed
        bar = lab.compare_bar
        bar.field.setText(action.compare)
        with qtbot.waitSignal(lab.drawn, timeout=WAIT_MS, check_params_cb=lambda snapshot: snapshot.is_difference):
            bar.buttons[DIFFERENCE].click()

    numbers = classroom.numbers_for(pane.step)  # from the window's own snapshot
    assert failed(action, numbers) == [], f"{step_id} on {lab.controller.session.source}"
    shown = pane.sentences()
    assert len(shown) >= min(1, len(pane.step.live))  # the live sentences are there too
    put_back(qtbot, lab)


def at_step(qtbot, window, lesson_id: str, step_id: str):
    """The window as it opens, the lesson pane at this step, on a model that can show it: (classroom, pane)."""
    classroom, pane = window.classroom, window.classroom.pane
    classroom.show_lesson()
    put_back(qtbot, window)
    assert pane.go_to_ids(lesson_id, step_id)
    open_the_model_the_step_needs(qtbot, window, pane)
    return classroom, pane


def test_the_try_it_button_does_what_the_step_says(qtbot, lab):
    classroom, pane = at_step(qtbot, lab, "01-what-is-an-llm", "04-transformer")
    qtbot.mouseClick(pane.try_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shows(lab, pane.step.action.prompt), timeout=WAIT_MS)
    numbers = classroom.numbers_for(pane.step)
    assert f"{lab.selection.layer}.{lab.selection.head}" == numbers["copy_head"]
    assert failed(pane.step.action, numbers) == []


@pytest.mark.parametrize("lesson_id, step_id", QUESTION_PAGES)
def test_questions_are_answered_by_the_live_model(qtbot, lab, lesson_id, step_id):
    classroom, pane = lab.classroom, lab.classroom.pane
    classroom.show_lesson()
    put_back(qtbot, lab)
    if not lab.controller.session.path:
        with qtbot.waitSignal(lab.drawn, timeout=WAIT_MS):
            lab.models.load_default_model()
    assert pane.go_to_ids(lesson_id, step_id)
    assert pane.questions_area.isVisible() and len(pane.questions.cards) == len(pane.step.questions)
    session = lab.controller.session
    for card in pane.questions.cards:
        question = card.question
        if question.kind == "predict":
            assert not card.reveal_button.isEnabled()  # a guess comes first
            qtbot.keyClicks(card.guess, "my guess")
            qtbot.mouseClick(card.reveal_button, Qt.MouseButton.LeftButton)
            # The answer, computed here from the model without the window: the card shows the same sentence.
            expected = answer_numbers(
                session.model,
                session.tokenizer,
                session.vocabulary().labels,
                question.action.prompt,
                select=question.action.select,
            )
            sentence = fill(question.reveal, expected)
            assert sentence is not None and expected[question.answer] is not None
            assert html.escape(sentence) in card.result.text()
            qtbot.waitUntil(lambda: shows(lab, question.action.prompt), timeout=WAIT_MS)
        else:
            right = next(i for i, (_, is_right) in enumerate(question.options) if is_right)
            wrong = next(i for i, (_, is_right) in enumerate(question.options) if not is_right)
            card.options.button(wrong).click()
            assert card.result.text().startswith("<b>Not quite.</b>")
            card.options.button(right).click()
            assert card.result.text().startswith("<b>Right.</b>") and card.result.isVisible()


def test_a_try_starts_from_the_window_as_it_opens(qtbot, lab):
    """Positions switched off and a temperature of 2, left by earlier steps, do not leak into a step that
    asks for neither; and after Try it the pane shows the live sentences, scrolled into view."""
    classroom, pane = at_step(qtbot, lab, "02-forward-pass", "05-positional-encodings")
    qtbot.mouseClick(pane.try_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: shows(lab, pane.step.action.prompt) and not lab.snapshot.trace.intervention.is_empty, timeout=WAIT_MS
    )
    lab.output_view.set_temperature(2.0)

    assert pane.go_to_ids("01-what-is-an-llm", "03-one-model-many-tasks")
    qtbot.mouseClick(pane.try_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: shows(lab, pane.step.action.prompt) and lab.snapshot.trace.intervention.is_empty, timeout=WAIT_MS
    )
    assert lab.output_view.temperature == 1.0 and lab.controller.intervention.is_empty
    assert failed(pane.step.action, classroom.numbers_for(pane.step)) == []
    live_box = pane.text.document().find("With your prompt")
    assert not live_box.isNull()
    assert 0 <= pane.text.cursorRect(live_box).top() < pane.text.viewport().height()


def test_try_it_with_an_empty_prompt_box_does_the_rest(qtbot, lab):
    """A step whose try types nothing, pressed after the student emptied the prompt: no error, the rest is done."""
    _, pane = at_step(qtbot, lab, "01-what-is-an-llm", "05-ai-ml-deep-learning")
    lab.prompt_view.editor.clear()
    qtbot.waitUntil(lambda: lab.controller.prompt == "" and not lab.controller.busy, timeout=WAIT_MS)
    qtbot.mouseClick(pane.try_button, Qt.MouseButton.LeftButton)  # an exception in the slot fails the test
    assert lab.output_view.temperature == pane.step.action.temperature
    put_back(qtbot, lab)
