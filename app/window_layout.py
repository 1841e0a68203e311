"""Where the explorer's panels start: the default arrangement of the docks and their first sizes.

Left: the prompt, Next token and What if above each other (What if beside Next token on a short
screen). Right: Attention over the Q/K/V, embedding and position tabs. Panels added later (lessons,
the studio) go where they asked to (PanelDock placement in app/window.py).
"""

from __future__ import annotations

import importlib

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

SHORT_WINDOW = 900  # pixels: a window shorter than this has What if beside Next token, not below
LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
VERTICAL, HORIZONTAL = Qt.Orientation.Vertical, Qt.Orientation.Horizontal

# The panels the default layout arranges by name; any other panel goes where add_panel was told.
EXPLORER_PANELS = (
    "promptView",
    "outputView",
    "whatIfView",
    "attentionView",
    "qkvView",
    "embeddingView",
    "positionalView",
)


def is_short(height: int) -> bool:
    """Too short for the prompt, Next token and What if above each other (e.g. a 1280x720 screen)."""
    return height < SHORT_WINDOW


def arrange_explorer_panels(window: QMainWindow, docks: dict[str, QDockWidget], short: bool) -> None:
    """Put the explorer's own docks (`docks`, by their panel's objectName) in the default arrangement."""
    for dock in docks.values():
        dock.setFloating(False)
        dock.show()
    window.addDockWidget(LEFT, docks["promptView"])
    window.splitDockWidget(docks["promptView"], docks["outputView"], VERTICAL)
    # three panels above each other would not fit a short window: What if goes beside Next token
    window.splitDockWidget(docks["outputView"], docks["whatIfView"], HORIZONTAL if short else VERTICAL)
    attention = docks.get("attentionView")
    tabbed = [docks[name] for name in ("qkvView", "embeddingView", "positionalView") if name in docks]
    if attention is not None:
        window.addDockWidget(RIGHT, attention)
    for index, dock in enumerate(tabbed):
        if index > 0:
            window.tabifyDockWidget(tabbed[0], dock)
        elif attention is not None:
            window.splitDockWidget(attention, dock, VERTICAL)
        else:
            window.addDockWidget(RIGHT, dock)
    if tabbed:
        tabbed[0].raise_()


def size_default_layout(window: QMainWindow, docks: dict[str, QDockWidget], short: bool) -> None:
    """The default arrangement's sizes (Qt applies them only once the window is on screen)."""
    if short:
        left = [docks["promptView"], docks["outputView"]]
        window.resizeDocks(left, [200, 800], VERTICAL)  # Next token takes what is left
        window.resizeDocks([docks["outputView"], docks["whatIfView"]], [1, 1], HORIZONTAL)
    else:
        left = [docks["promptView"], docks["outputView"], docks["whatIfView"]]
        window.resizeDocks(left, [250, 380, 370], VERTICAL)
    attention = docks.get("attentionView")
    below = docks.get("qkvView") or docks.get("embeddingView") or docks.get("positionalView")
    right = attention or below
    if right is not None:
        window.resizeDocks([left[0], right], [500, 1100], HORIZONTAL)
    if attention is not None and below is not None:
        window.resizeDocks([attention, below], [420, 580], VERTICAL)


def fitted_size(wanted: QSize, screen) -> QSize:
    """`wanted`, shrunk to the screen's available area (less the window frame) so the window never opens
    larger than the screen it is on."""
    if screen is None:
        return wanted
    room = screen.availableGeometry().size() - QSize(16, 48)  # title bar and borders drawn by the desktop
    return wanted.boundedTo(room)


def optional_view(module_name: str, class_name: str):
    """The panel class `class_name` of `module_name`, or None where that module does not exist."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as missing:
        if missing.name != module_name:
            raise  # the view exists but something it imports is missing: a real error
        return None
    return getattr(module, class_name)


def explorer_docks(panels) -> dict[str, QDockWidget]:
    """The docks of the explorer's own panels among `panels` (DockedPanel), by their panel's objectName."""
    return {p.widget.objectName(): p.dock for p in panels if p.widget.objectName() in EXPLORER_PANELS}
