"""The live class: the model-modified badge and Reset everything, undo/redo of the prompt, the zoom, a
window that fits its screen, and the one-line explanations under the controls."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QKeySequence

from app.views.modified_badge import describe_intervention
from core import Intervention


def _action(window, text: str):
    return next(a for a in window.actions() if a.text().replace("&", "") == text)


def test_describing_a_what_if_names_what_is_changed():
    assert describe_intervention(Intervention()) == ""
    assert describe_intervention(Intervention(ablate_heads={(0, 1)})) == "1 head off"
    both = Intervention(ablate_heads={(0, 1), (1, 0)}, ablation="mean", positional=False)
    assert describe_intervention(both) == "2 heads off (mean) · positions off"


def test_ticking_heads_shows_the_badge_and_reset_everything_switches_all_off(qtbot, window, show_prompt, wait_drawn):
    show_prompt("the cat sat")
    status_badge, panel_badge = window.modified_badge, window.output_view.badge
    assert status_badge.text() == "" and panel_badge.text() == ""
    assert status_badge.isHidden() and panel_badge.isHidden()
    whatif = window.whatif_view
    wait_drawn(lambda: whatif.head_boxes[(0, 1)].setChecked(True))
    wait_drawn(lambda: whatif.head_boxes[(1, 0)].setChecked(True))
    wait_drawn(lambda: whatif.positional_off.setChecked(True))
    for badge in (status_badge, panel_badge):
        assert badge.isVisible()
        assert badge.text() == "⚠ Model modified: 2 heads off · positions off"
    # Heads stay off for a new prompt, and the badge keeps saying so.
    show_prompt("a new prompt")
    assert panel_badge.text().endswith("2 heads off · positions off")

    snapshot = wait_drawn(lambda: qtbot.mouseClick(panel_badge.reset_button, Qt.MouseButton.LeftButton))
    assert snapshot.trace.intervention.is_empty
    assert not any(box.isChecked() for box in whatif.head_boxes.values())
    assert not whatif.positional_off.isChecked()
    assert status_badge.isHidden() and panel_badge.isHidden()


def test_reset_everything_is_in_the_model_menu_with_a_shortcut(window, show_prompt, wait_drawn):
    show_prompt("the cat")
    wait_drawn(lambda: window.whatif_view.head_boxes[(0, 0)].setChecked(True))
    assert window.modified_badge.text().endswith("1 head off")
    action = _action(window, "Reset everything")
    assert action in window.menus["Model"].actions()
    assert action.shortcut() == QKeySequence("Ctrl+Shift+R")
    snapshot = wait_drawn(action.trigger)
    assert snapshot.trace.intervention.is_empty and window.modified_badge.isHidden()


def test_undo_takes_back_a_whole_generate_and_each_next_token(qtbot, window, show_prompt, wait_drawn):
    show_prompt("the cat")
    output, prompt = window.output_view, window.prompt_view
    output.greedy_check.setChecked(True)
    wait_drawn(output.sample_one)
    after_next = prompt.text()
    assert len(after_next) == len("the cat") + 1
    with qtbot.waitSignal(output.generation_finished, timeout=20000):
        output.start_generating(4)
    qtbot.waitUntil(lambda: not window.controller.busy)
    generated = prompt.text()
    assert generated.startswith(after_next) and len(generated) == len(after_next) + 4

    undo, redo = _action(window, "Undo"), _action(window, "Redo")
    assert undo in window.menus["Edit"].actions() and redo.shortcut() == QKeySequence("Ctrl+Shift+Z")
    wait_drawn(undo.trigger)  # the four generated tokens go in one step
    assert prompt.text() == after_next
    assert window.controller.prompt == after_next
    wait_drawn(undo.trigger)  # then the one Next token
    assert prompt.text() == "the cat"
    wait_drawn(redo.trigger)
    wait_drawn(redo.trigger)
    assert prompt.text() == generated


def test_zoom_grows_plot_fonts_and_the_prompt_and_is_remembered(window, show_prompt):
    from app.views import plot_style

    show_prompt("the cat")
    prompt_size = window.prompt_view.editor.font().pointSizeF()
    tick_size = plot_style.font().pointSizeF()
    try:
        _action(window, "Zoom in").trigger()
        assert window.zoom > 1
        assert window.prompt_view.editor.font().pointSizeF() > prompt_size
        assert plot_style.font().pointSizeF() > tick_size
        axis = window.output_view.plot.getPlotItem().getAxis("bottom")
        assert axis.style["tickFont"].pointSizeF() == plot_style.font().pointSizeF()  # the panels were restyled
        assert window.settings.value("view/zoom", 1.0) == window.zoom
        _action(window, "Zoom out").trigger()
        _action(window, "Zoom out").trigger()
        assert window.zoom < 1
    finally:
        _action(window, "Actual size").trigger()
    assert window.zoom == 1 and window.prompt_view.editor.font().pointSizeF() == prompt_size
    assert _action(window, "Zoom in").shortcut() == QKeySequence("Ctrl+=")


def test_the_window_opens_no_larger_than_its_screen(qapp, tmp_path, session):
    from app.settings import AppSettings
    from app.window import MainWindow, fitted_size

    room = qapp.primaryScreen().availableGeometry().size()  # the offscreen screen: 800x800
    fitted = fitted_size(QSize(1600, 1000), qapp.primaryScreen())
    assert fitted.width() <= room.width() and fitted.height() <= room.height()
    # On a 1280x720 screen (less a title bar and a panel) every panel still fits, none behind another.
    laptop = fitted_size(QSize(1600, 1000), None).boundedTo(QSize(1280 - 16, 720 - 48 - 40))
    window = MainWindow(
        settings=AppSettings(tmp_path / "s.ini"), session=session, prompt="the cat", remember_layout=False, size=laptop
    )
    try:
        window.show()
        least = window.minimumSizeHint()
        assert least.width() <= laptop.width() and least.height() <= laptop.height()
        assert window.size() == laptop
        # Too short for three panels above each other: What if sits beside Next token, both in sight.
        output, whatif = window.output_view.parentWidget(), window.whatif_view.parentWidget()
        assert not window.tabifiedDockWidgets(output) and whatif.y() == output.y() and whatif.x() > output.x()
    finally:
        window.close()


def test_controls_whose_labels_are_not_obvious_say_what_they_do_on_screen(window):
    for name, words in (("samplingCaption", ("Top-p", "top-k")), ("ablationCaption", ("Zero", "Mean"))):
        label = window.findChild(type(window.model_label), name)
        assert label is not None and label.isVisible()
        assert all(word in label.text() for word in words)
    positional = window.find_widget("positionalView")
    assert "position vector" in positional.findChild(type(window.model_label), "dimsCaption").text()


def test_a_new_window_opens_at_the_zoom_left_last_time(qapp, tmp_path, session):
    from app.settings import AppSettings
    from app.views import plot_style
    from app.window import MainWindow

    settings = AppSettings(tmp_path / "s.ini")
    settings.set_value("view/zoom", 1.25)
    window = MainWindow(settings=settings, session=session, prompt="the cat", remember_layout=False)
    try:
        assert window.zoom == 1.25 and plot_style.font().pointSizeF() == 1.25 * plot_style.TICK_POINT_SIZE
    finally:
        window.set_zoom(1.0)  # the zoom is the whole application's: leave it as the other tests expect
        window.close()
