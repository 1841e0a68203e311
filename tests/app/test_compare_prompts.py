"""Two prompts side by side in the explorer window: the Compare bar's second prompt and switch, every
panel in each of the three modes, the sentence for prompts of different lengths, the patching panel's
shared prompt, and the choice remembered."""

import numpy as np
import pytest
from PySide6.QtCore import QSize

from app.settings import AppSettings
from app.state.model_in_use import default_model
from app.state.comparison import CLEAN, CORRUPTED, DIFFERENCE, Comparison
from app.views.compare_bar import NO_SECOND_PROMPT
from app.views.plot_style import PROBABILITY_MAP, SIGNED_MAP
from app.window import MainWindow
from app.window_compare import NOT_COMPARED
from core.teaching.lessons import load_lessons

CLEAN_PROMPT = "tom gave a ball"
CORRUPTED_PROMPT = "tim gave a bell"  # as many characters: the tokens line up


@pytest.fixture
def session(session_factory):
    return session_factory(context_length=32)  # room for both prompts and a longer one


@pytest.fixture
def compared(window, show_prompt, wait_drawn):
    """compared(mode): the clean and corrupted prompts, the switch on `mode`; returns the snapshot drawn."""
    show_prompt(CLEAN_PROMPT)

    def run(mode: str, corrupted: str = CORRUPTED_PROMPT):
        bar = window.compare_bar
        if bar.field.text() != corrupted:
            wait_drawn(lambda: bar.field.setText(corrupted))
        if bar.comparison.mode != mode:
            wait_drawn(lambda: bar.buttons[mode].click())
        return window.snapshot

    return run


def test_without_a_second_prompt_the_switch_is_off_and_says_why(window, show_prompt):
    show_prompt(CLEAN_PROMPT)
    bar = window.compare_bar
    assert all(not button.isEnabled() for button in bar.buttons.values())
    assert all(button.toolTip() == NO_SECOND_PROMPT for button in bar.buttons.values())
    assert window.snapshot.mode == CLEAN and bar.note.text() == ""


def test_the_difference_mode_draws_clean_minus_corrupted_in_every_panel(window, compared):
    snapshot = compared(DIFFERENCE)
    assert snapshot.is_difference
    assert window.compare_bar.note.text() == "Both prompts have 15 tokens."
    assert window.compare_bar.note.toolTip() == "Both prompts have 15 tokens: they line up position by position."
    clean, corrupted = snapshot.compared
    attention = window.find_widget("attentionView")
    expected = clean.trace.numpy("blocks.0.attn.pattern", head=0) - corrupted.trace.numpy(
        "blocks.0.attn.pattern", head=0
    )
    future = np.triu(np.ones(expected.shape, dtype=bool), k=1)
    np.testing.assert_allclose(attention.shown_pattern()[~future], expected[~future], atol=1e-6)
    assert attention.heatmap.colormap_name == SIGNED_MAP
    low, high = attention.heatmap.colorbar.levels()
    assert low == -high  # centred on 0
    assert "clean − corrupted" in attention.heatmap.panel.title
    assert attention.heatmap.panel.row_labels[1] == "o/i"  # "clean/corrupted" where the tokens differ
    assert window.find_widget("qkvView").chain["pattern"].colormap_name == SIGNED_MAP


def test_back_on_clean_the_panels_draw_weights_on_the_probability_map_again(window, compared):
    compared(DIFFERENCE)
    snapshot = compared(CLEAN)
    attention = window.find_widget("attentionView")
    assert snapshot.mode == CLEAN and attention.heatmap.colormap_name == PROBABILITY_MAP
    assert attention.heatmap.colorbar.levels() == (0.0, 1.0)
    assert all("—" not in panel.dock.windowTitle() for panel in window.panels)


def test_every_panel_shows_the_three_modes_and_its_title_says_which(window, compared):
    names = [panel.widget.objectName() for panel in window.panels]
    for name in names:
        window.built_panel(name)  # the panels that wait behind a tab too
    for mode in (CORRUPTED, DIFFERENCE, CLEAN):
        snapshot = compared(mode)
        assert snapshot.mode == mode
        for panel in window.panels:
            if panel.widget.objectName() == "trainingStudio":
                continue  # the studio draws its own runs, not the explorer's prompt
            panel.widget.show_snapshot(snapshot)  # every panel, on screen or behind a tab: no error
            title = panel.dock.windowTitle()
            if panel.widget.objectName() in NOT_COMPARED or mode == CLEAN:
                assert "—" not in title, title
            else:
                assert title.endswith(f"— {mode}"), title


def test_the_categorical_panels_show_both_tokens_and_the_numeric_change(window, compared):
    snapshot = compared(DIFFERENCE)
    clean, corrupted = snapshot.compared
    lens = window.find_widget("logitLensView")
    lens.show_snapshot(snapshot)
    labels = lens.shown_top_tokens()
    differs = lens.difference.top_differs
    row, position = map(int, np.argwhere(differs)[0])
    clean_top = lens.difference.clean.top_ids[row, position, 0]
    corrupted_top = lens.difference.corrupted.top_ids[row, position, 0]
    assert labels[row][position] == f"{snapshot.vocab_labels[clean_top]}→{snapshot.vocab_labels[corrupted_top]}"
    np.testing.assert_allclose(lens.grid.matrix(), lens.difference.probability_change, atol=1e-6)
    assert lens.grid.colormap_name == SIGNED_MAP
    assert window.prompt_view.summary.text().startswith("Clean/corrupted where the two prompts' tokens differ")
    assert window.prompt_view.strip.chips()[1].label == "o/i"
    output = window.output_view
    ids, probs = output.shown_distribution()
    clean_probs = clean.trace.numpy("probs")[-1]
    corrupted_probs = corrupted.trace.numpy("probs")[-1]
    change = np.abs(clean_probs - corrupted_probs)
    assert change[ids[0]] == pytest.approx(change.max())  # the biggest change first
    np.testing.assert_allclose(probs, clean_probs[ids], atol=1e-6)
    assert output.bars.value_texts()[0] == f"{100 * (clean_probs[ids[0]] - corrupted_probs[ids[0]]):+.1f} pts"


def test_prompts_of_different_lengths_get_a_sentence_and_pad_or_cut(window, compared, wait_drawn):
    snapshot = compared(DIFFERENCE, CORRUPTED_PROMPT + " now")
    bar = window.compare_bar
    assert snapshot.mode == CLEAN  # nothing half-drawn: the clean prompt, and why
    assert bar.note.text() == "Showing the clean prompt. The corrupted prompt has 4 more tokens:"  # Pad, Cut
    assert bar.note.toolTip().startswith(
        "Showing the clean prompt. The corrupted prompt has 4 more tokens (15 clean, 19"
    )
    assert bar.pad_button.isVisibleTo(bar) and bar.cut_button.isVisibleTo(bar)
    padded = wait_drawn(bar.pad_button.click)
    assert padded.is_difference and padded.n_tokens == 19
    assert bar.note.text() == "Padded to 19 tokens."
    assert bar.note.toolTip() == "Both prompts now have 19 tokens (spaces added at the start of the shorter)."
    assert not bar.pad_button.isVisibleTo(bar)
    assert not bar.cut_button.isVisibleTo(bar)  # once aligned, no more offers
    typed = wait_drawn(lambda: bar.field.setText(CORRUPTED_PROMPT + " no"))  # a new prompt forgets the padding
    assert typed.mode == CLEAN and bar.pad_button.isVisibleTo(bar)


def test_the_patching_panel_uses_the_shared_corrupted_prompt(window, compared, wait_drawn):
    compared(CLEAN)
    patching = window.find_widget("patchingView")
    assert patching.corrupted_field.text() == CORRUPTED_PROMPT
    wait_drawn(lambda: patching.corrupted_field.setText("tom gave a bell"))
    assert window.controller.comparison.corrupted_prompt == "tom gave a bell"
    assert window.compare_bar.field.text() == "tom gave a bell"
    tokenizer = window.controller.session.tokenizer
    assert patching.prompts() == (tokenizer.encode(CLEAN_PROMPT), tokenizer.encode("tom gave a bell"))
    snapshot = compared(CORRUPTED, "tom gave a bell")
    patching.show_snapshot(snapshot)
    assert patching.prompt_ids() == tokenizer.encode(CLEAN_PROMPT)  # still the clean one


def test_the_second_prompt_and_the_switch_are_remembered(qtbot, tmp_path, session_factory):
    settings = AppSettings(str(tmp_path / "settings.ini"))
    first = MainWindow(settings=settings, session=session_factory(), prompt=CLEAN_PROMPT, size=QSize(1280, 720))
    first.compare_bar.field.setText(CORRUPTED_PROMPT)
    first.compare_bar.buttons[DIFFERENCE].click()
    first.close()
    again = MainWindow(
        settings=AppSettings(str(tmp_path / "settings.ini")), session=session_factory(), prompt=CLEAN_PROMPT
    )
    try:
        assert again.controller.comparison == Comparison(CORRUPTED_PROMPT, DIFFERENCE)
        assert again.compare_bar.field.text() == CORRUPTED_PROMPT
        assert again.compare_bar.buttons[DIFFERENCE].isChecked()
        with qtbot.waitSignal(
            again.controller.snapshot_ready, timeout=10000, check_params_cb=lambda s: s.is_difference
        ):
            again.controller.refresh()
    finally:
        again.close()


def test_the_lesson_step_s_try_it_fills_the_compare_bar_and_shows_the_difference(window, wait_drawn):
    step = next(
        step
        for lesson in load_lessons()
        for step in lesson.steps
        if lesson.id == "04-why-this-token" and step.id == "02b-two-prompts"
    )
    assert step.action.compare and step.action.prompt
    window.set_session(default_model()[0])  # the step's prompts need its tokenizer (the prompt is empty: no trace)
    snapshot = wait_drawn(lambda: window.classroom.perform_try(step))
    assert snapshot.is_difference and window.compare_bar.field.text() == step.action.compare
    assert window.compare_bar.buttons[DIFFERENCE].isChecked()
    assert window.controller.prompt == step.action.prompt
