"""Presenter mode (F5): the window as a projector needs it, and back exactly as it was.

On: full screen, the lesson on the left and, on the right, the prompt above the one panel the step is
about (each step swaps it, like slides), fonts 1.6× larger, lines thicker, sequential colour maps switched to cividis (made to
read the same for colour-blind viewers and on washed-out projectors), menus, toolbars, the status bar,
dock buttons and panel controls hidden. Only the keyboard moves on: Right, Space or Page Down (what a
presentation clicker sends) for the next step, Left, Backspace or Page Up for the previous one,
Escape or F5 to leave. Off: the saved layout, geometry, fonts and every hidden widget come back.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox,
                               QDockWidget, QMainWindow, QToolBar, QWidget)

from app.views import plot_style

from .highlight import PanelHighlighter, dock_of
from .lesson_pane import LessonPane
from .projector_style import ProjectorStyle

FONT_SCALE = 1.6
FRAME_WIDTH = 10                   # the highlight frame, thicker for the back row
CONTROL_TYPES = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox)
PANELS_THAT_ARE_ALL_CONTROLS = ("whatIfView",)  # hidden whole: nothing on them reads without their knobs
NEXT_KEYS = {Qt.Key.Key_Right, Qt.Key.Key_Space, Qt.Key.Key_PageDown, Qt.Key.Key_Down}
BACK_KEYS = {Qt.Key.Key_Left, Qt.Key.Key_Backspace, Qt.Key.Key_PageUp, Qt.Key.Key_Up}
LEAVE_KEYS = {Qt.Key.Key_Escape, Qt.Key.Key_F5}
LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea


@dataclass
class SavedLayout:
    """Everything presenter mode changes, as it was before."""

    state: QByteArray                  # docks: where, how big, which tab in front
    geometry: QByteArray               # the window's size and place, as saveGeometry keeps it
    rect: QRect                        # the same, exactly (restoreGeometry moves windows bigger than the screen)
    window_state: Qt.WindowState       # normal, maximised or full screen
    app_font: QFont
    frame_width: int
    hidden: list[QWidget] = field(default_factory=list)            # widgets we hid, to show again
    dock_features: dict[QDockWidget, QDockWidget.DockWidgetFeature] = field(default_factory=dict)


class PresenterMode(QObject):
    toggled = Signal(bool)

    def __init__(self, window: QMainWindow, pane: LessonPane, highlighter: PanelHighlighter) -> None:
        super().__init__(window)
        self.window = window
        self.pane = pane
        self.highlighter = highlighter
        self.style = ProjectorStyle()
        self.saved: SavedLayout | None = None
        self.lesson_dock: QDockWidget | None = None
        self.prompt_dock: QDockWidget | None = None
        self.focused_dock: QDockWidget | None = None    # the step's panel, shown under the prompt

    @property
    def active(self) -> bool:
        return self.saved is not None

    def toggle(self) -> None:
        self.leave() if self.active else self.enter()

    # -- on -----------------------------------------------------------------------------------------
    def enter(self) -> None:
        if self.active:
            return
        window = self.window
        app = QApplication.instance()
        self.saved = SavedLayout(window.saveState(), window.saveGeometry(), window.geometry(), window.windowState(),
                                 QFont(app.font()), self.highlighter.frame.line_width)
        self._hide_controls()
        bigger = QFont(self.saved.app_font)
        bigger.setPointSizeF(self.saved.app_font.pointSizeF() * FONT_SCALE)
        app.setFont(bigger)
        plot_style.set_font_scale(FONT_SCALE)
        self.pane.set_presenting(True, FONT_SCALE)
        self.highlighter.set_line_width(FRAME_WIDTH)
        window.showFullScreen()
        self._arrange_for_projector()
        self._restyle_panels()
        self.style.apply(window)
        window.drawn.connect(self._on_drawn)
        app.installEventFilter(self)
        self.pane.setFocus()
        self.toggled.emit(True)

    def _hide_controls(self) -> None:
        window, saved = self.window, self.saved
        candidates: list[QWidget] = [window.menuBar(), window.statusBar(), *window.findChildren(QToolBar)]
        for dock in window.findChildren(QDockWidget):
            saved.dock_features[dock] = dock.features()
            dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
            inside = dock.widget()
            if inside is None or inside is self.pane:
                continue
            if inside.objectName() in PANELS_THAT_ARE_ALL_CONTROLS:
                candidates.append(dock)
                continue
            candidates.extend(w for w in inside.findChildren(QWidget) if isinstance(w, CONTROL_TYPES))
        for widget in candidates:
            if not widget.isHidden():
                saved.hidden.append(widget)
                widget.hide()

    def _arrange_for_projector(self) -> None:
        """The lesson on the left; on the right the prompt above the panel the step is about."""
        window = self.window
        self.lesson_dock, self.prompt_dock = dock_of(self.pane), self._dock_named("promptView")
        self.focused_dock = None
        for dock in window.findChildren(QDockWidget):
            if dock not in (self.lesson_dock, self.prompt_dock):
                dock.hide()
        for dock, area in ((self.lesson_dock, LEFT), (self.prompt_dock, RIGHT)):
            if dock is not None:
                dock.setFloating(False)
                window.addDockWidget(area, dock)
                dock.show()
        self.focus_on(self.pane.step.panel)
        if self.lesson_dock is not None and self.prompt_dock is not None:
            width = window.width()
            window.resizeDocks([self.lesson_dock, self.prompt_dock], [int(width * 0.32), int(width * 0.68)],
                               Qt.Orientation.Horizontal)

    def _dock_named(self, name: str) -> QDockWidget | None:
        return dock_of(self.window.findChild(QWidget, name))

    def focus_on(self, panel_name: str) -> None:
        """Show the panel `panel_name` (or its fallback) under the prompt, in place of the one shown before."""
        if not self.active:
            return
        dock = dock_of(self.highlighter.find_panel(panel_name))
        if dock is self.focused_dock:
            return
        if self.focused_dock is not None:
            self.focused_dock.hide()
        self.focused_dock = None
        if dock is None or dock in (self.lesson_dock, self.prompt_dock):
            return
        dock.setFloating(False)
        if self.prompt_dock is not None:
            self.window.splitDockWidget(self.prompt_dock, dock, Qt.Orientation.Vertical)
        else:
            self.window.addDockWidget(RIGHT, dock)
        dock.show()
        self.focused_dock = dock
        if self.prompt_dock is not None:
            height = self.window.height()
            self.window.resizeDocks([self.prompt_dock, dock], [int(height * 0.22), int(height * 0.78)],
                                    Qt.Orientation.Vertical)

    # -- off ----------------------------------------------------------------------------------------
    def leave(self) -> None:
        if not self.active:
            return
        window, saved, app = self.window, self.saved, QApplication.instance()
        app.removeEventFilter(self)
        window.drawn.disconnect(self._on_drawn)
        self.style.restore()
        plot_style.set_font_scale(1.0)
        app.setFont(saved.app_font)
        self.pane.set_presenting(False)
        self.highlighter.set_line_width(saved.frame_width)
        for widget in saved.hidden:
            widget.show()
        for dock, features in saved.dock_features.items():
            dock.setFeatures(features)
        self.saved = None
        self.focused_dock = None
        self._restyle_panels()
        app.processEvents()  # let widgets shrink back to their normal-font sizes before the layout returns
        window.restoreState(saved.state)  # the docks first, so the window's minimum size is the old one again
        window.setWindowState(saved.window_state)
        if not saved.window_state & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
            window.setGeometry(saved.rect)
        app.processEvents()
        window.restoreState(saved.state)  # and again: dock sizes are relative to the window's size
        self.toggled.emit(False)

    # -- while on -----------------------------------------------------------------------------------
    def _restyle_panels(self) -> None:
        """Let every panel re-make its fonts (plot_style's scale) and redraw."""
        if hasattr(self.window, "set_dark_theme"):
            self.window.set_dark_theme(self.window.dark)

    def _on_drawn(self, snapshot) -> None:
        self.style.apply(self.window)  # panels may have made new curves or images while redrawing

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        key = event.key()
        if key in NEXT_KEYS:
            self.pane.go_next()
        elif key in BACK_KEYS:
            self.pane.go_back()
        elif key in LEAVE_KEYS:
            self.leave()
        else:
            return False
        return True
