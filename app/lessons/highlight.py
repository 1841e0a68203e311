"""Bring a panel forward and draw a coloured frame around it for a moment, so every eye finds it.

    highlighter = PanelHighlighter(window, find_widget)  # find_widget(name): the panel, built if it waited
    highlighter.bring_forward("attentionView")   # shows and raises its dock, frames it, fades out

Panels are found by object name (e.g. "attentionView", or "tokenStrip" inside the prompt panel).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QRect, Qt, QTimer, QVariantAnimation
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QDockWidget, QMainWindow, QStackedWidget, QTabWidget, QWidget

FRAME_COLOUR = "#E69F00"  # Okabe–Ito orange: stands out on light and dark, and for colour-blind eyes
HOLD_MS = 1800  # how long the frame stays fully visible
FADE_MS = 900  # then how long it takes to fade away


def dock_of(widget: QWidget | None) -> QDockWidget | None:
    while widget is not None and not isinstance(widget, QDockWidget):
        widget = widget.parentWidget()
    return widget


def reveal(widget: QWidget) -> None:
    """Turn every tab widget on the way up to the page that holds `widget` (e.g. the studio's Curves)."""
    while widget is not None:
        parent = widget.parentWidget()
        if isinstance(parent, QStackedWidget) and isinstance(parent.parentWidget(), QTabWidget):
            parent.parentWidget().setCurrentWidget(widget)
        widget = parent


class HighlightFrame(QWidget):
    """A see-through overlay that paints a thick rounded frame and lets every click pass through."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("lessonHighlight")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.target: QWidget | None = None
        self.line_width = 5
        self.opacity = 1.0
        self._hold = QTimer(self, singleShot=True, interval=HOLD_MS)
        self._hold.timeout.connect(self._start_fade)
        self._fade = QVariantAnimation(self, startValue=1.0, endValue=0.0, duration=FADE_MS)
        self._fade.valueChanged.connect(self._on_fade_changed)
        self._fade.finished.connect(self.hide)
        self.hide()

    def flash(self, target: QWidget) -> None:
        if self.target is not None and self.target is not target:
            self.target.removeEventFilter(self)
        self.target = target
        target.installEventFilter(self)  # follow it while the layout settles
        self._fade.stop()
        self.opacity = 1.0
        self.follow_target()
        self.show()
        self.raise_()
        self._hold.start()

    def follow_target(self) -> None:
        """Cover the target (the layout may still be settling after its dock was raised)."""
        if self.target is None:
            return
        margin = self.line_width
        top_left = self.target.mapTo(self.parentWidget(), self.target.rect().topLeft())
        self.setGeometry(QRect(top_left, self.target.size()).adjusted(-margin, -margin, margin, margin))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.target and event.type() in (QEvent.Type.Resize, QEvent.Type.Move, QEvent.Type.Show):
            self.follow_target()
        return False

    def _start_fade(self) -> None:
        self._fade.start()

    def _on_fade_changed(self, value: float) -> None:
        self.opacity = float(value)
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(FRAME_COLOUR)
        colour.setAlphaF(self.opacity)
        painter.setPen(QPen(colour, self.line_width))
        half = self.line_width / 2
        painter.drawRoundedRect(self.rect().toRectF().adjusted(half, half, -half, -half), 8, 8)
        painter.end()


class PanelHighlighter:
    """Finds panels by object name in one main window, raises them and flashes a frame on them."""

    def __init__(self, window: QMainWindow, find_widget: Callable[[str], QWidget | None] | None = None) -> None:
        self.window = window
        self.find_widget = find_widget  # the explorer's: builds a panel not yet shown; else findChild
        self.frame = HighlightFrame(window)

    def find(self, name: str) -> QWidget | None:
        if self.window.objectName() == name:
            return self.window
        return self.find_widget(name) if self.find_widget else self.window.findChild(QWidget, name)

    def find_panel(self, names: str) -> QWidget | None:
        """The first panel that exists of "a, b, c" (a lesson may name a fallback)."""
        for name in (part.strip() for part in names.split(",")):
            panel = self.find(name) if name else None
            if panel is not None:
                return panel
        return None

    def bring_forward(self, name: str, highlight: str = "", flash: bool = True) -> QWidget | None:
        """Show and raise the dock holding panel `name` (or its first existing fallback, "a, b"), and frame
        `highlight` (or the panel). Returns the panel, or None if the window has none of them."""
        panel = self.find_panel(name)
        if panel is None:
            return None
        dock = dock_of(panel)
        if dock is not None:
            dock.show()
            dock.raise_()  # the front tab, if it shares a place with other panels
        target = (self.find(highlight) if highlight else None) or panel
        reveal(target)
        if not flash:
            return panel
        if self.frame.parentWidget() is not target.window():
            self.frame.setParent(target.window())
        self.frame.flash(target)
        for delay_ms in (0, 150):  # after the dock has been raised and the layout has settled
            QTimer.singleShot(delay_ms, self.frame.follow_target)
        return panel

    def set_line_width(self, width: int) -> None:
        self.frame.line_width = width
