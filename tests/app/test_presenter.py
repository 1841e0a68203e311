"""Presenter mode: a projector's layout, pages turned by the clicker while the prompt editor keeps its keys,
the controls each step's "try this" needs, then exactly the layout from before."""

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QToolBar

from app.lessons.projector_layout import SEPARATOR, Needs, fits, font_scale, needed_size, plan
from app.views import plot_style

from lesson_fixtures import classroom, shown  # noqa: F401  (fixtures)


def dock_states(window):
    return {
        dock.objectName(): (dock.isHidden(), window.dockWidgetArea(dock), dock.features())
        for dock in window.findChildren(QDockWidget)
    }


def image_maps(window) -> dict:
    """Colour map name of every image in every plot of the window."""
    return {
        id(item): getattr(item.getColorMap(), "name", None)
        for view in window.findChildren(pg.GraphicsView)
        for item in view.scene().items()
        if isinstance(item, pg.ImageItem)
    }


def test_presenter_mode_and_back(qtbot, window, shown):
    app = QApplication.instance()
    shown.pane.go_to_ids("02-forward-pass", "12-softmax")
    qtbot.wait(10)
    state, geometry, font = bytes(window.saveState()), window.geometry(), app.font().pointSizeF()
    docks = dock_states(window)
    slider = window.output_view.temperature_slider
    axis_title = window.output_view.plot.getPlotItem().getAxis("bottom").label  # "probability"
    title_size = axis_title.font().pointSizeF()
    maps_before = image_maps(window)
    assert "viridis" in maps_before.values()

    shown.presenter_action.trigger()  # F5
    assert shown.presenter.active and window.isFullScreen()
    assert window.menuBar().isHidden() and window.statusBar().isHidden()
    # This step's "try this" looks through the heads: the layer and head selectors stay, nothing else does.
    assert [bar.objectName() for bar in window.findChildren(QToolBar) if not bar.isHidden()] == ["selectionToolbar"]
    assert slider.isHidden() and window.output_view.generate_button.isHidden()
    assert shown.pane.next_button.isVisible() and shown.pane.back_button.isVisible()  # on-screen page turning
    assert shown.pane.keys_hint.isVisible() and "Page Down" in shown.pane.keys_hint.text()
    scale = shown.presenter.scale  # for the test screen's height (800 lines): text keeps its share of the wall
    assert scale == font_scale(window.screen().geometry().height()) >= 1.2
    assert app.font().pointSizeF() == pytest.approx(scale * font)
    assert plot_style.font().pointSizeF() >= 1.2 * plot_style.TICK_POINT_SIZE
    assert axis_title.font().pointSizeF() >= 1.15 * title_size  # axis titles grow with the tick labels
    # Only the lesson, the prompt and this step's panel are shown, and the attention heatmap is in cividis.
    shown_docks = {d.widget().objectName() for d in window.findChildren(QDockWidget) if not d.isHidden()}
    assert shown_docks == {"lessonPane", "promptView", "attentionView"}
    maps_now = image_maps(window)
    recoloured = [key for key, name in maps_before.items() if name == "viridis"]
    assert recoloured and all(maps_now[key] == "cividis" for key in recoloured)
    assert all(maps_now[key] == name for key, name in maps_before.items() if name == "CET-D1A")  # diverging kept

    # The clicker's Page Down turns the page even with the cursor in the prompt; the arrows on the lesson.
    window.prompt_view.editor.setFocus()
    qtbot.keyClick(window.prompt_view.editor, Qt.Key.Key_PageDown)
    assert shown.pane.step.id == "13-weighted-sum"
    shown.pane.setFocus()
    qtbot.keyClick(shown.pane, Qt.Key.Key_Right)
    assert shown.pane.step.id == "14-multi-head"
    qtbot.keyClick(shown.pane, Qt.Key.Key_Left)
    assert shown.pane.step.id == "13-weighted-sum"
    qtbot.mouseClick(shown.pane.next_button, Qt.MouseButton.LeftButton)
    assert shown.pane.step.id == "14-multi-head"
    qtbot.mouseClick(shown.pane.back_button, Qt.MouseButton.LeftButton)
    assert shown.pane.step.id == "13-weighted-sum"
    shown.pane.go_to_ids("02-forward-pass", "09-query-key-value")  # the next step swaps the panel shown
    shown_docks = {d.widget().objectName() for d in window.findChildren(QDockWidget) if not d.isHidden()}
    assert shown_docks == {"lessonPane", "promptView", "qkvView"}
    shown.pane.go_to_ids("02-forward-pass", "12-softmax")

    qtbot.keyClick(shown.pane, Qt.Key.Key_Escape)
    assert not shown.presenter.active and not window.isFullScreen()
    assert bytes(window.saveState()) == state
    assert window.geometry() == geometry
    assert dock_states(window) == docks
    assert app.font().pointSizeF() == font and plot_style.font().pointSizeF() == plot_style.TICK_POINT_SIZE
    assert axis_title.font().pointSizeF() == title_size
    assert not slider.isHidden() and not window.menuBar().isHidden()
    assert image_maps(window) == maps_before
    assert not shown.pane.keys_hint.isVisible() and shown.pane.contents_button.isVisible()


def test_typing_in_the_prompt_types_while_presenting(qtbot, window, shown):
    """Space, Backspace and the arrows reach the editor (they used to turn pages); Page Down still turns one."""
    shown.pane.go_to_ids("02-forward-pass", "12-softmax")
    shown.presenter.enter()
    editor = window.prompt_view.editor
    window.prompt_view.set_text("")
    editor.setFocus()
    qtbot.keyClicks(editor, "Anna met Ben. Then Anna")
    assert window.prompt_view.text() == "Anna met Ben. Then Anna"
    for key in (Qt.Key.Key_Backspace, Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down):
        qtbot.keyClick(editor, key)
    assert window.prompt_view.text() == "Anna met Ben. Then Ann"
    assert shown.pane.step.id == "12-softmax"
    qtbot.keyClick(editor, Qt.Key.Key_PageDown)
    assert shown.pane.step.id == "13-weighted-sum"
    qtbot.keyClick(editor, Qt.Key.Key_PageUp)
    assert shown.pane.step.id == "12-softmax"
    assert window.prompt_view.text() == "Anna met Ben. Then Ann"
    shown.presenter.leave()


def test_each_step_keeps_the_controls_its_try_this_needs(qtbot, window, shown):
    output = window.output_view
    shown.pane.go_to_ids("02-forward-pass", "17-probabilities-and-sampling")  # temperature, then "next token"
    shown.presenter.enter()
    assert output.temperature_slider.isVisible() and output.next_button.isVisible()
    assert output.generate_button.isVisible()
    assert output.top_k_spin.isHidden()  # what the step does not use stays hidden
    shown.pane.go_to_ids("02-forward-pass", "13-weighted-sum")  # tick a head, then switch it off
    assert output.temperature_slider.isHidden() and output.next_button.isHidden()
    assert window.findChild(QToolBar, "selectionToolbar").isVisible()
    assert window.whatif_view.isVisible()
    shown.pane.go_to_ids("02-forward-pass", "09-query-key-value")
    assert not window.whatif_view.isVisible()
    shown.presenter.leave()
    assert not output.top_k_spin.isHidden() and not output.temperature_slider.isHidden()


def test_leaving_while_a_try_panel_is_shown_restores_the_layout(qtbot, window, shown):
    shown.pane.go_to_ids("02-forward-pass", "12-softmax")
    qtbot.wait(10)
    docks, toolbar = dock_states(window), window.findChild(QToolBar, "selectionToolbar")
    shown.presenter.enter()
    shown.pane.go_to_ids("02-forward-pass", "13-weighted-sum")  # the what-if panel beside the attention
    assert window.whatif_view.isVisible()
    shown.presenter.leave()
    assert dock_states(window) == docks and not toolbar.isHidden()


def test_prompt_and_chips_grow_with_the_presentation_font(qtbot, window, shown):
    prompt_view = window.prompt_view

    def chip_size():
        rects = prompt_view.strip.chip_rects()
        return sum(rect.width() for rect in rects), rects[0].height()

    editor_size, (chip_width, chip_height) = prompt_view.editor.font().pointSizeF(), chip_size()
    shown.presenter.enter()
    assert prompt_view.editor.font().pointSizeF() >= 1.2 * editor_size
    assert chip_size()[0] > 1.08 * chip_width and chip_size()[1] > 1.08 * chip_height  # the padding stays
    shown.presenter.leave()
    assert prompt_view.editor.font().pointSizeF() == editor_size
    assert chip_size() == (chip_width, chip_height)


def test_a_label_is_shown_with_its_control_or_not_at_all(qtbot, window, shown):
    """Top-p and Top-k name controls a temperature step hides: their labels go too; Temperature's stays with it."""
    from app.lessons.panel_picture import labels_of

    output = window.output_view
    shown.pane.go_to_ids("02-forward-pass", "17-probabilities-and-sampling")
    shown.presenter.enter()
    for control in (output.temperature_slider, output.top_p_slider, output.top_k_spin):
        labels = labels_of(output, [control])
        assert labels and all(label.isHidden() == control.isHidden() for label in labels)
    assert output.temperature_slider.isVisible() and output.top_p_slider.isHidden()
    shown.pane.go_to_ids("02-forward-pass", "13-weighted-sum")  # no temperature here: its labels leave with it
    assert all(label.isHidden() for label in labels_of(output, [output.temperature_slider]))
    shown.presenter.leave()
    assert not any(label.isHidden() for label in labels_of(output, [output.top_p_slider, output.top_k_spin]))


def test_space_on_a_focused_button_presses_it_and_never_turns_the_page(qtbot, window, shown):
    shown.pane.go_to_ids("02-forward-pass", "17-probabilities-and-sampling")
    shown.presenter.enter()
    pressed = []
    button = window.output_view.next_button  # shown for this step's "try this"
    button.clicked.connect(lambda: pressed.append(True))
    button.setFocus()
    qtbot.keyClick(button, Qt.Key.Key_Space)
    assert pressed == [True]  # the button's own click
    assert shown.pane.step.id == "17-probabilities-and-sampling"
    shown.pane.back_button.setFocus()
    qtbot.keyClick(shown.pane.back_button, Qt.Key.Key_Space)
    assert shown.pane.step.id == "16-logits"  # Back pressed: one page back, not one forward
    shown.presenter.leave()


# -- the layout, for the screen it is on ------------------------------------------------------------
PROJECTOR_SIZES = (QSize(1280, 720), QSize(1600, 1000), QSize(1920, 1080))
STEPS = ("12-softmax", "13-weighted-sum", "17-probabilities-and-sampling")  # attention, + what-if, next token


def settle() -> None:
    """Let a resize run its course: the window, its docks, then presenter mode's re-layout (no waiting on time)."""
    for _ in range(8):
        QApplication.processEvents()


def test_the_plan_gives_the_step_panel_its_room_first():
    needs = Needs(
        lesson=QSize(265, 200), prompt_height=280, prompt_least=220, panel=QSize(735, 404), beside=QSize(505, 421)
    )
    wide = plan(QSize(1920, 1040), needs)  # a 1080p projector: the what-if right of the panel
    assert not wide.beside_under_lesson and wide.panel_width >= 735 and wide.beside_size >= 505
    assert wide.lesson_width + wide.panel_width + wide.beside_size + 2 * SEPARATOR == 1920
    small = plan(QSize(1280, 684), needs)  # 1280x720: no room for three columns
    assert small.beside_under_lesson and small.lesson_width >= 505
    assert 1280 - SEPARATOR - small.lesson_width >= 735 == needs.panel.width()
    assert small.beside_size >= 421 and 684 - SEPARATOR - small.prompt_height >= 404  # the prompt gives way
    alone = plan(QSize(1280, 684), Needs(QSize(265, 200), 280, 220, QSize(735, 404), None))
    assert alone.lesson_width == int(1280 * 0.32) and alone.prompt_height == 684 - SEPARATOR - 404
    assert font_scale(1080) == 1.6 and font_scale(720) == 1.2 and font_scale(1000) == pytest.approx(1.6 * 1000 / 1080)


@pytest.mark.parametrize("size", PROJECTOR_SIZES, ids=lambda size: f"{size.width()}x{size.height()}")
def test_every_shown_panel_gets_the_room_its_content_needs(qtbot, window, shown, size):
    """Resized after presenter mode is on (a projector's screen): the lesson, the prompt and the step's panel
    (and the what-if beside it) all shown whole, inside the window, none below what its content needs."""
    shown.pane.go_to_ids("02-forward-pass", STEPS[0])
    shown.presenter.enter()
    window.setWindowState(Qt.WindowState.WindowNoState)  # the test screen is smaller than these sizes
    window.resize(size)
    settle()
    assert window.size() == size
    for step in STEPS:
        shown.pane.go_to_ids("02-forward-pass", step)
        settle()
        assert_all_shown_whole(window, shown.presenter, step)
        if step == "13-weighted-sum":
            whatif = window.whatif_view
            assert whatif.isVisible() and shown.presenter.beside_under_lesson == (size.width() < 1600)
            assert whatif.grid_scroll.viewport().height() >= whatif.grid_host.minimumSizeHint().height()  # every layer
            with qtbot.waitSignal(window.drawn, check_params_cb=lambda _: not window.controller.busy):
                whatif.head_boxes[(0, 0)].setChecked(True)  # the status bar's badge and the changed bars take room
            settle()
            assert not window.statusBar().isHidden()
            assert_all_shown_whole(window, shown.presenter, "13-weighted-sum, a head off")
            with qtbot.waitSignal(window.drawn, check_params_cb=lambda _: not window.controller.busy):
                whatif.head_boxes[(0, 0)].setChecked(False)
    shown.presenter.leave()


def assert_all_shown_whole(window, presenter, step: str) -> None:
    docks = [dock for dock in window.findChildren(QDockWidget) if dock.isVisible()]
    names = {dock.widget().objectName() for dock in docks}
    assert {"lessonPane", "promptView"} <= names and presenter.focused_dock in docks, step
    for dock in docks:
        assert window.rect().contains(dock.geometry()), (step, dock.objectName())
        assert fits(dock), (step, dock.objectName(), dock.size(), needed_size(dock))


def test_moving_to_another_screen_rescales_the_text_for_it(qtbot, window, shown, monkeypatch):
    """A projector plugged in takes the window: the text is re-sized for that screen's height (the test has one
    screen, so the new screen's scale is stood in for), and the layout shared again."""
    import app.lessons.presenter as presenter_module

    app, font = QApplication.instance(), QApplication.instance().font().pointSizeF()
    shown.presenter.enter()
    monkeypatch.setattr(presenter_module, "font_scale", lambda screen_height: 1.45)
    window.windowHandle().screenChanged.emit(window.screen())
    assert shown.presenter.scale == 1.45 and app.font().pointSizeF() == pytest.approx(1.45 * font)
    window.setWindowState(
        Qt.WindowState.WindowNoState
    )  # full screen on the test's small screen: as big as a projector's
    window.resize(PROJECTOR_SIZES[-1])
    settle()
    assert_all_shown_whole(window, shown.presenter, "on the new screen")
    shown.presenter.leave()
    assert app.font().pointSizeF() == font and shown.presenter.window_handle is None
