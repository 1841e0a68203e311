"""Presenter mode: a projector's layout and keyboard-only steps, then exactly the layout from before."""
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
    assert all(bar.isHidden() for bar in window.findChildren(QToolBar))
    assert slider.isHidden() and shown.pane.buttons.isHidden()
    assert app.font().pointSizeF() > 1.5 * font and plot_style.font().pointSizeF() > 1.5 * plot_style.TICK_POINT_SIZE
    assert axis_title.font().pointSizeF() > 1.5 * title_size  # axis titles grow with the tick labels
    # Only the lesson, the prompt and this step's panel are shown, and the attention heatmap is in cividis.
    shown_docks = {d.widget().objectName() for d in window.findChildren(QDockWidget) if not d.isHidden()}
    assert shown_docks == {"lessonPane", "promptView", "attentionView"}
    maps_now = image_maps(window)
    recoloured = [key for key, name in maps_before.items() if name == "viridis"]
    assert recoloured and all(maps_now[key] == "cividis" for key in recoloured)
    assert all(maps_now[key] == name for key, name in maps_before.items() if name == "CET-D1A")  # diverging kept

    # Keyboard only, even with the cursor in the prompt: the clicker's Page Down, then arrows.
    window.prompt_view.editor.setFocus()
    qtbot.keyClick(window.prompt_view.editor, Qt.Key.Key_PageDown)
    assert shown.pane.step.id == "13-weighted-sum"
    qtbot.keyClick(window.prompt_view.editor, Qt.Key.Key_Right)
    assert shown.pane.step.id == "14-multi-head"
    qtbot.keyClick(shown.pane, Qt.Key.Key_Left)
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
