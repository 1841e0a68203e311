"""The training studio: set up a run, step through training, watch attention heads form.

    studio = add_training_studio(window)    # a dock tabbed beside the explorer's Q/K/V panel
"""
from __future__ import annotations

from PySide6.QtCore import Qt

from .studio_panel import StudioPanel, WindowCloseGuard

# The studio shares the tab group of this explorer panel (so the attention panel stays in view).
NEIGHBOUR_PANEL = "qkvView"


def add_training_studio(window) -> StudioPanel:
    """Put the studio in the explorer window: it drives the window's panels with the run's weights."""
    studio = StudioPanel(window.controller, window.selection, show_session=window.set_session,
                         set_prompt=window.set_prompt)
    window.add_panel(studio, StudioPanel.TITLE, Qt.DockWidgetArea.RightDockWidgetArea, StudioPanel.TOOLTIP,
                     tab_with=NEIGHBOUR_PANEL)
    window.studio_guard = WindowCloseGuard(window, studio)
    return studio


def show_training_studio(window) -> None:
    """Bring the studio's tab to the front."""
    for panel in window.panels:
        if panel.widget is window.studio:
            panel.dock.show()
            panel.dock.raise_()


__all__ = ["StudioPanel", "add_training_studio", "show_training_studio"]
