"""What every panel in the explorer window is: one small protocol, and what a panel is handed.

    class NextTokenView(QWidget):             # any QWidget that has these is a Panel
        TITLE = "Next token"                  # the dock's title and the View menu's entry
        TOOLTIP = "The model's probabilities for the next token."
        OBJECT_NAME = "outputView"            # the name layouts, lessons and tests find it by
        FOLLOWS_SELECTION = False             # True: it redraws when the layer/head selection changes
        def show_snapshot(self, snapshot): ...  # redraw from the newest snapshot (called while on screen)
        def set_theme(self, dark): ...          # recolour for the light or dark theme

The window calls show_snapshot and set_theme on every panel it docks, and asks nothing else of it.
The explorer's model views get all of this from SnapshotView (app/views/view_base.py). A panel is
built from a PanelContext (or the parts of it it needs), never from the window.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from app.controller import Controller
    from app.selection import Selection
    from app.settings import AppSettings
    from app.state.snapshot import Snapshot


@runtime_checkable
class Panel(Protocol):
    TITLE: ClassVar[str]               # the dock's title
    TOOLTIP: ClassVar[str]             # one sentence: what the panel shows
    OBJECT_NAME: ClassVar[str]         # its objectName: how layouts, lessons and tests find it
    FOLLOWS_SELECTION: ClassVar[bool]  # redraws when the chosen layer/head changes

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Redraw from the newest snapshot; the window calls it only while the panel is on screen."""

    def set_theme(self, dark: bool) -> None:
        """Recolour for the dark (True) or light (False) theme."""


@dataclass(frozen=True)
class PanelContext:
    """What a panel, or a part of the app that adds panels, may use: never the whole window."""

    controller: Controller   # the model in use, the prompt, the what-if; every new snapshot
    selection: Selection     # the layer and head being looked at
    settings: AppSettings    # the user's stored choices
