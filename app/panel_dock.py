"""A panel's dock in the explorer window, and what the window remembers about it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolTip, QWidget

from .views.panel import Panel


class PanelDock(QDockWidget):
    """A dock whose one-sentence tooltip shows on its title bar only, not over the whole panel."""

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            inside = self.widget()
            if inside is None or event.pos().y() < inside.geometry().top():
                QToolTip.showText(event.globalPos(), self.toolTip(), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)


@dataclass
class DockedPanel:
    dock: QDockWidget
    widget: QWidget  # a Panel, or an empty stand-in until `build` has made it
    area: Qt.DockWidgetArea  # where "Reset layout" puts it (panels added later)
    tab_with: str | None = None  # or behind this panel's tab (an objectName)
    stale: bool = True  # a snapshot arrived while the panel was hidden
    build: Callable[[], Panel] | None = None  # makes the real panel; set until it is first shown

    @property
    def built(self) -> bool:
        return self.build is None

    def is_on_screen(self) -> bool:
        """Visible and not behind another tab (a tabbed-away dock still counts as 'visible' to Qt)."""
        return self.dock.isVisible() and not self.dock.visibleRegion().isEmpty()


def front_tab(window: QMainWindow, dock: QDockWidget) -> QDockWidget:
    """The dock in front of `dock`'s tab group (a dock whose region is on screen)."""
    group = [dock, *window.tabifiedDockWidgets(dock)]
    return next((d for d in group if not d.visibleRegion().isEmpty()), dock)
