"""What the lessons are handed instead of the window: the few things a classroom reads and drives.

    classroom = Classroom(classroom_context(window))     # the window builds it (app/window_classroom.py)

The lessons type a prompt, tick a head, move the temperature, switch parts of the model off, show a panel,
change the theme and say how things went, all through the objects and functions below. Nothing in
app/lessons reads the explorer window's own attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

if TYPE_CHECKING:
    from app.controller import Controller
    from app.error_display import ErrorDisplay
    from app.selection import Selection
    from app.state.model_in_use import ModelInUse
    from app.views.output_view import OutputView
    from app.views.prompt_view import PromptView
    from app.views.whatif_view import WhatIfView


@dataclass(frozen=True)
class ClassroomContext:
    # what the lessons read and change, as a student would with the mouse
    controller: Controller  # the model in use, the prompt it reads, each new snapshot
    selection: Selection  # the layer and head every panel shows
    prompt: PromptView  # the prompt panel: text(), set_text(), undo()
    output: OutputView  # the next-token panel: temperature, set_temperature()
    whatif: WhatIfView  # the what-if switches: positions or one head off
    errors: ErrorDisplay  # where a failure is told, in a sentence
    # the model and the training studio
    set_session: Callable[[ModelInUse], None]  # show another model in every panel
    studio: Callable[[], Any]  # the training studio panel, or None while never built
    ensure_studio: Callable[[], Any]  # the training studio panel, built now if it was not
    # the theme
    is_dark: Callable[[], bool]  # True while the dark theme is on
    set_dark_theme: Callable[[bool], None]  # recolour and redraw every panel
    zoom: Callable[[], float]  # the user's zoom (presenter mode scales on top of it)
    # panels and docks
    add_panel: Callable[..., QDockWidget]  # dock a panel (the window's add_panel arguments)
    add_lazy_panel: Callable[..., QDockWidget]  # dock a panel that is built when first shown
    find_panel: Callable[[str], QWidget | None]  # a panel or widget by objectName, built if it waited
    drawn: SignalInstance  # every panel on screen has drawn a snapshot
    modified_badge: QWidget  # the status bar's "model changed" badge
    file_menu: QMenu | None  # the File menu, where session files are opened and saved
    dock_layout: QMainWindow  # Qt's own QMainWindow: docks, menu bar, status bar,
    #                                               shortcuts, dialogs' parent; presenter mode re-lays it out

    def show_status(self, text: str, ms: int) -> None:
        """A line in the status bar for `ms` milliseconds."""
        self.dock_layout.statusBar().showMessage(text, ms)
