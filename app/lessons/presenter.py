"""Presenter mode (F5): the window as a projector needs it, and back exactly as it was.

On: full screen, the lesson on the left and, on the right, the prompt above the one panel the step is
about (each step swaps it, like slides), every part with the room its content needs on the screen the
window is on (projector_layout: worked out again after each step, resize and change of screen), text
larger for that screen (1.6× on a 1080-line projector, at least 1.2×), lines thicker, sequential colour
maps switched to cividis (made to read the same for colour-blind viewers and on washed-out projectors),
menus, toolbars, the status bar,
dock buttons and panel controls hidden, except the controls the step's "try this" needs (its temperature,
next token and generate, the what-if panel, the layer and head selectors). Page Down and Page Up (what a
presentation clicker sends) or the lesson's Next and Back buttons turn pages; so do Right, Space, Left and
Backspace, except in a widget that types or steps with them (the prompt editor keeps every key; Space
presses a focused button). A line
under the lesson shows the keys. Escape or F5 leaves. Off: the saved layout, geometry, fonts and every
hidden widget come back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QWindow
from PySide6.QtWidgets import (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox,
                               QDockWidget, QLineEdit, QPlainTextEdit, QTextEdit, QToolBar, QWidget)

from app.views import plot_style
from core.teaching.lessons import LessonStep

from .context import ClassroomContext
from .highlight import PanelHighlighter, dock_of
from .lesson_pane import LessonPane
from .panel_picture import labels_of
from .projector_layout import SEPARATOR, Needs, font_scale, needed_size, plan
from .projector_style import ProjectorStyle

PROMPT_TITLE_ROOM = 30             # the prompt dock's title bar above its panel
FRAME_WIDTH = 10                   # the highlight frame, thicker for the back row
CONTROL_TYPES = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox)
PANELS_THAT_ARE_ALL_CONTROLS = ("whatIfView",)  # hidden whole: nothing on them reads without their knobs
PAGE_KEYS = {Qt.Key.Key_PageDown: "next", Qt.Key.Key_PageUp: "back"}      # a clicker's: turn pages everywhere
TYPING_KEYS = {Qt.Key.Key_Right: "next", Qt.Key.Key_Space: "next", Qt.Key.Key_Down: "next",
               Qt.Key.Key_Left: "back", Qt.Key.Key_Backspace: "back",
               Qt.Key.Key_Up: "back"}  # unless a widget uses them
LEAVE_KEYS = {Qt.Key.Key_Escape, Qt.Key.Key_F5}
KEYS_HINT = "Page Down / Up or clicker: next / back  ·  Alt+arrows: layer, head  ·  Esc: leave"
# What a step's "try this" may need, by the object names of the controls that do it.
TRY_CONTROLS = {
    "temperature": ("temperatureSlider",),
    "sampling": ("nextTokenButton", "generateButton", "generateCount", "stopButton"),
    "selectors": ("selectionToolbar",),
    "what-if": ("whatIfView",),
}


def try_controls(step: LessonStep) -> set[str]:
    """Which TRY_CONTROLS the step's "try this" uses: from its action, and from the words it asks the class to use."""
    action, words = step.action, step.try_this.lower()
    needed = set()
    if action.temperature is not None or "temperature" in words:
        needed.add("temperature")
    if "next token" in words or "generate" in words or "let the model write" in words:
        needed.add("sampling")
    if action.select or re.search(r"\b(heads?|layers?)\b", words):
        needed.add("selectors")
    if action.switch_off == "head" or "what-if" in words:
        needed.add("what-if")
    return needed


def uses_typing_keys(widget: QWidget | None) -> bool:
    """True for a widget that types, or steps, with the arrows, Space or Backspace (the prompt editor, a slider)."""
    if isinstance(widget, QTextEdit):
        return not widget.isReadOnly()  # the lesson's own text is read-only: the keys turn its pages
    return isinstance(widget, (QPlainTextEdit, QLineEdit, QAbstractSpinBox, QAbstractSlider, QComboBox))
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

    def __init__(self, context: ClassroomContext, pane: LessonPane, highlighter: PanelHighlighter) -> None:
        super().__init__(context.dock_layout)
        self.context = context
        self.window = context.dock_layout  # the docks, menu and status bars this mode re-lays out
        self.pane = pane
        self.highlighter = highlighter
        self.style = ProjectorStyle()
        self.saved: SavedLayout | None = None
        self.lesson_dock: QDockWidget | None = None
        self.prompt_dock: QDockWidget | None = None
        self.focused_dock: QDockWidget | None = None    # the step's panel, shown under the prompt
        self.beside_dock: QDockWidget | None = None     # the what-if panel, when the step's "try this" needs it
        self.beside_under_lesson = False                # where it is: under the lesson, or right of the step's panel
        self.try_shown: list[QWidget] = []              # controls (or a dock) shown for the step's "try this"
        self.scale = 1.0                                # the presentation font's, for the screen the window is on
        self.window_handle: QWindow | None = None       # whose screenChanged says a projector took the window

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
        self._set_scale(font_scale(window.screen().geometry().height()))
        self.highlighter.set_line_width(FRAME_WIDTH)
        window.showFullScreen()
        self._arrange_for_projector()
        self._restyle_panels()
        self.style.apply(window)
        self.context.drawn.connect(self._on_drawn)
        app.installEventFilter(self)
        self.pane.setFocus()
        self.toggled.emit(True)

    def _set_scale(self, scale: float) -> None:
        """Text, plots, the prompt and its chips `scale` times their normal size."""
        self.scale = scale
        bigger = QFont(self.saved.app_font)
        bigger.setPointSizeF(self.saved.app_font.pointSizeF() * scale)
        QApplication.instance().setFont(bigger)
        plot_style.set_font_scale(scale)
        self.pane.set_presenting(True, scale, KEYS_HINT)
        self._scale_prompt(scale)

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
            controls = [w for w in inside.findChildren(QWidget) if isinstance(w, CONTROL_TYPES)]
            candidates.extend(controls)
            candidates.extend(labels_of(inside, controls))  # "Top-p" goes with its slider: both or neither
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
        self.show_step(self.pane.step)
        self.window_handle = window.windowHandle()  # None before the window was first shown
        if self.window_handle is not None:
            self.window_handle.screenChanged.connect(self._on_screen_changed)

    def _dock_named(self, name: str) -> QDockWidget | None:
        return dock_of(self.window.findChild(QWidget, name))

    def show_step(self, step: LessonStep) -> None:
        """The step's panel under the prompt, and the controls its "try this" needs."""
        self.focus_on(step.panel)
        self.show_try_controls(step)
        QTimer.singleShot(0, self._share_the_room)  # after the controls just shown (a toolbar) took their room

    def _share_the_room(self) -> None:
        """Once the layout has settled (after a step, a resize, a new screen): every part the room its
        content needs, the step's panel first (projector_layout.plan)."""
        lesson, prompt, focused, beside = self.lesson_dock, self.prompt_dock, self.focused_dock, self.beside_dock
        if not self.active or lesson is None or prompt is None or focused is None:
            return
        room = lesson.geometry().united(prompt.geometry()).united(focused.geometry())
        needs = Needs(needed_size(lesson), prompt.widget().comfortable_height() + PROMPT_TITLE_ROOM,
                      needed_size(prompt).height(), needed_size(focused),
                      needed_size(beside) if beside is not None else None)
        layout = plan(room.size(), needs)
        if beside is not None and layout.beside_under_lesson != self.beside_under_lesson:
            self._place_beside(layout.beside_under_lesson)
            QTimer.singleShot(0, self._share_the_room)  # sizes once the new split is laid out
            return
        resize = self.window.resizeDocks
        columns = [layout.lesson_width, room.width() - SEPARATOR - layout.lesson_width]
        resize([lesson, prompt], columns, Qt.Orientation.Horizontal)
        resize([prompt, focused], [layout.prompt_height, room.height() - SEPARATOR - layout.prompt_height],
               Qt.Orientation.Vertical)
        if beside is not None and layout.beside_under_lesson:
            resize([lesson, beside], [room.height() - SEPARATOR - layout.beside_size, layout.beside_size],
                   Qt.Orientation.Vertical)
        elif beside is not None:
            resize([focused, beside], [layout.panel_width, layout.beside_size], Qt.Orientation.Horizontal)
        resize([lesson, prompt], columns, Qt.Orientation.Horizontal)  # again: splitting a column moved it

    def focus_on(self, panel_name: str) -> None:
        """Show the panel `panel_name` (or its fallback) under the prompt, in place of the one shown before."""
        if not self.active:
            return
        dock = dock_of(self.highlighter.find_panel(panel_name))
        if dock is self.focused_dock:
            return
        if self.beside_dock is not None:  # a dock shown for the last step's "try this" makes room
            self.beside_dock.hide()
        if self.focused_dock is not None:
            self.focused_dock.hide()
        self.focused_dock = None
        if dock is None or dock in (self.lesson_dock, self.prompt_dock):
            return
        self._dock_beside(self.prompt_dock, dock, Qt.Orientation.Vertical)
        self.focused_dock = dock

    def _dock_beside(self, neighbour: QDockWidget | None, dock: QDockWidget, orientation: Qt.Orientation) -> None:
        """Show `dock` under (Vertical) or right of (Horizontal) `neighbour`; on the right edge without one."""
        dock.setFloating(False)
        if neighbour is not None:
            self.window.splitDockWidget(neighbour, dock, orientation)
        else:
            self.window.addDockWidget(RIGHT, dock)
        dock.show()

    def show_try_controls(self, step: LessonStep) -> None:
        """Show again the hidden controls the step's "try this" uses; hide those the last step used."""
        if not self.active:
            return
        for widget in self.try_shown:
            widget.hide()
        self.try_shown, self.beside_dock = [], None
        for need in sorted(try_controls(step)):
            for name in TRY_CONTROLS[need]:
                widget = self.window.findChild(QWidget, name)
                if need == "what-if":
                    self._show_beside_focused(dock_of(widget))
                elif widget is not None and widget in self.saved.hidden:  # only what we hid ourselves
                    labels = [label for label in labels_of(self.window, [widget]) if label in self.saved.hidden]
                    for shown in (widget, *labels):
                        shown.show()
                        self.try_shown.append(shown)

    def _show_beside_focused(self, dock: QDockWidget | None) -> None:
        """A second panel (the what-if switches) right of the step's own; _share_the_room moves it under the
        lesson when the screen is too narrow for both."""
        if dock is None or dock in (self.lesson_dock, self.prompt_dock, self.focused_dock):
            return
        self.beside_dock = dock
        self._place_beside(under_lesson=False)
        self.try_shown.append(dock)

    def _place_beside(self, under_lesson: bool) -> None:
        if under_lesson:
            self._dock_beside(self.lesson_dock, self.beside_dock, Qt.Orientation.Vertical)
        else:
            self._dock_beside(self.focused_dock, self.beside_dock, Qt.Orientation.Horizontal)
        self.beside_under_lesson = under_lesson

    def _scale_prompt(self, scale: float) -> None:
        """The prompt and its token chips grow with the presentation font (on top of the user's zoom)."""
        prompt_view = self.window.findChild(QWidget, "promptView")
        if prompt_view is not None:
            prompt_view.set_zoom(self.context.zoom() * scale)

    # -- off ----------------------------------------------------------------------------------------
    def leave(self) -> None:
        if not self.active:
            return
        window, saved, app = self.window, self.saved, QApplication.instance()
        app.removeEventFilter(self)
        if self.window_handle is not None:
            self.window_handle.screenChanged.disconnect(self._on_screen_changed)
            self.window_handle = None
        self.context.drawn.disconnect(self._on_drawn)
        self.style.restore()
        plot_style.set_font_scale(1.0)
        app.setFont(saved.app_font)
        self.pane.set_presenting(False)
        self._scale_prompt(1.0)
        self.scale = 1.0
        self.highlighter.set_line_width(saved.frame_width)
        for widget in saved.hidden:
            widget.show()
        self.try_shown = []
        for dock, features in saved.dock_features.items():
            dock.setFeatures(features)
        self.saved = None
        self.focused_dock = self.beside_dock = None
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
        self.context.set_dark_theme(self.context.is_dark())

    def _on_drawn(self, snapshot) -> None:
        self.style.apply(self.window)  # panels may have made new curves or images while redrawing
        self._show_modified_badge()
        QTimer.singleShot(0, self._share_the_room)  # the badge took height, the chips a new row, a panel new text

    def _show_modified_badge(self) -> None:
        """The status bar comes back while a what-if changes the model: its badge says so, with Reset everything."""
        bar, badge = self.window.statusBar(), self.context.modified_badge
        if bar in self.saved.hidden:
            bar.setVisible(not badge.isHidden())

    def _on_screen_changed(self, screen) -> None:
        """Moved to another screen (a projector plugged in): full screen there, its text and layout for its size."""
        scale = font_scale(screen.geometry().height())
        if scale != self.scale:
            self._set_scale(scale)
            self._restyle_panels()
        self.window.showFullScreen()
        QTimer.singleShot(0, self._share_the_room)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, self._share_the_room)  # once the docks have their new geometry
            return False
        if event.type() != QEvent.Type.KeyPress or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        key = event.key()
        if key in LEAVE_KEYS:
            self.leave()
            return True
        move = PAGE_KEYS.get(key)
        focused = QApplication.focusWidget()
        if key == Qt.Key.Key_Space and isinstance(focused, QAbstractButton):
            return False  # Space presses the focused button (the lesson's Next among them), never turns the page
        if move is None and not uses_typing_keys(focused):
            move = TYPING_KEYS.get(key)
        if move is None:
            return False
        self.pane.go_next() if move == "next" else self.pane.go_back()
        return True
