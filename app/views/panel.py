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
built from what it shows, never from the window: the shared Selection (every explorer view), the
Controller and the Selection (the training studio).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from app.state.snapshot import Snapshot


@runtime_checkable
class Panel(Protocol):
    TITLE: ClassVar[str]  # the dock's title
    TOOLTIP: ClassVar[str]  # one sentence: what the panel shows
    OBJECT_NAME: ClassVar[str]  # its objectName: how layouts, lessons and tests find it
    FOLLOWS_SELECTION: ClassVar[bool]  # redraws when the chosen layer/head changes

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Redraw from the newest snapshot; the window calls it only while the panel is on screen."""

    def set_theme(self, dark: bool) -> None:
        """Recolour for the dark (True) or light (False) theme."""
