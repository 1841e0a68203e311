"""The studio's tabs, each page in a scroll area: a page never forces the window to grow.

On a 1280x720 screen the studio shares the right column with the attention panel; a page that needs
more room than it gets (the set-up form, two rows of plots) scrolls instead of widening or lengthening
the window past the screen.
"""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QTabWidget, QWidget


def scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a frameless scroll area that gives it all the room there is, and scrolls below its minimum."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


class ScrollingTabs(QTabWidget):
    """A QTabWidget whose pages are scroll areas; callers name the page by what it shows, as before."""

    def add_page(self, widget: QWidget, title: str) -> None:
        self.addTab(scrolling(widget), title)

    def page_of(self, widget: QWidget) -> QWidget:
        """The scroll area that holds `widget` (or `widget` itself where it is a page)."""
        for index in range(self.count()):
            page = self.widget(index)
            if page is widget or (isinstance(page, QScrollArea) and page.widget() is widget):
                return page
        return widget

    def setCurrentWidget(self, widget: QWidget) -> None:
        super().setCurrentWidget(self.page_of(widget))

    def shown_page(self) -> QWidget | None:
        """What the current tab shows (the widget inside its scroll area)."""
        page = self.currentWidget()
        return page.widget() if isinstance(page, QScrollArea) else page
