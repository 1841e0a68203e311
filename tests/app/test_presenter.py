"""Presenter mode: a projector's layout, pages turned by the clicker while the prompt editor keeps its keys,
the controls each step's "try this" needs, then exactly the layout from before."""
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QToolBar

from app.views import plot_style

from lesson_fixtures import classroom, shown  # noqa: F401  (fixtures)


def dock_states(window):
    return {dock.objectName(): (dock.isHidden(), window.dockWidgetArea(dock), dock.features())
            for dock in window.findChildren(QDockWidget)}


def image_maps(window) -> dict:
    """Colour map name of every image in every plot of the window."""
    return {id(item): getattr(item.getColorMap(), "name", None)
            for view in window.findChildren(pg.GraphicsView) for item in view.scene().items()
            if isinstance(item, pg.ImageItem)}


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

    shown.presenter_action.trigger()                                  # F5
    assert shown.presenter.active and window.isFullScreen()
    assert window.menuBar().isHidden() and window.statusBar().isHidden()
    # This step's "try this" looks through the heads: the layer and head selectors stay, nothing else does.
    assert [bar.objectName() for bar in window.findChildren(QToolBar) if not bar.isHidden()] == ["selectionToolbar"]
    assert slider.isHidden() and window.output_view.generate_button.isHidden()
    assert shown.pane.next_button.isVisible() and shown.pane.back_button.isVisible()  # on-screen page turning
    assert shown.pane.keys_hint.isVisible() and "Page Down" in shown.pane.keys_hint.text()
    assert app.font().pointSizeF() > 1.5 * font and plot_style.font().pointSizeF() > 1.5 * plot_style.TICK_POINT_SIZE
    assert axis_title.font().pointSizeF() > 1.5 * title_size  # axis titles grow with the tick labels
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
    assert prompt_view.editor.font().pointSizeF() > 1.5 * editor_size
    assert chip_size()[0] > 1.2 * chip_width and chip_size()[1] > 1.2 * chip_height  # the padding stays
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
    button = window.output_view.next_button        # shown for this step's "try this"
    button.clicked.connect(lambda: pressed.append(True))
    button.setFocus()
    qtbot.keyClick(button, Qt.Key.Key_Space)
    assert pressed == [True]                        # the button's own click
    assert shown.pane.step.id == "17-probabilities-and-sampling"
    shown.pane.back_button.setFocus()
    qtbot.keyClick(shown.pane.back_button, Qt.Key.Key_Space)
    assert shown.pane.step.id == "16-logits"       # Back pressed: one page back, not one forward
    shown.presenter.leave()
