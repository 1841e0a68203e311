"""What the explorer window hands the classroom: the narrow context of app/lessons/context.py, built here so
the lessons never see the window's own attributes."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

from .lessons.context import ClassroomContext


def classroom_context(window: QMainWindow) -> ClassroomContext:
    """`window`: the explorer's MainWindow (app/window.py, which imports this module, so it is not named here)."""
    return ClassroomContext(
        controller=window.controller,
        selection=window.selection,
        prompt=window.prompt_view,
        output=window.output_view,
        whatif=window.whatif_view,
        errors=window.errors,
        set_session=window.set_session,
        studio=lambda: window.studio,
        ensure_studio=window.ensure_studio,
        is_dark=lambda: window.dark,
        set_dark_theme=window.set_dark_theme,
        zoom=lambda: window.zoom,
        add_panel=window.add_panel,
        add_lazy_panel=window.add_lazy_panel,
        find_panel=window.find_widget,
        drawn=window.drawn,
        modified_badge=window.modified_badge,
        file_menu=window.menus.get("File"),
        dock_layout=window,
    )
