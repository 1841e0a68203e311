"""Two parts side by side on a wide studio, one above the other on a narrow one (a 1280x720 screen).

    arrangement = QBoxLayout(SIDE_BY_SIDE, widget)
    def resizeEvent(self, event): stack_when_narrow(self, self.arrangement, event.size().width(), WIDE); ...

The widget's minimum width is the stacked one, so a side-by-side pair never holds the window wider than
the screen: once the widget is given less than `wide_from` pixels the parts go above each other.
(An explicit minimum width, not an overridden minimumSizeHint: Qt calls that while it tears the window
down at exit, after Python has let go of the widget, and the program crashes.)
"""

from __future__ import annotations

from PySide6.QtWidgets import QBoxLayout, QWidget

SIDE_BY_SIDE, STACKED = QBoxLayout.Direction.LeftToRight, QBoxLayout.Direction.TopToBottom


def stack_when_narrow(widget: QWidget, arrangement: QBoxLayout, width: int, wide_from: int) -> None:
    """Side by side from `wide_from` pixels wide, above each other below that; `widget` may always
    shrink to its parts above each other."""
    direction = SIDE_BY_SIDE if width >= wide_from else STACKED
    if arrangement.direction() != direction:
        arrangement.setDirection(direction)
    keep_narrow_minimum(widget, arrangement)


def keep_narrow_minimum(widget: QWidget, arrangement: QBoxLayout) -> None:
    """`widget` may be as narrow as its widest part (plus margins): the parts above each other."""
    widest = max((arrangement.itemAt(i).minimumSize().width() for i in range(arrangement.count())), default=0)
    margins = arrangement.contentsMargins()
    widget.setMinimumWidth(widest + margins.left() + margins.right())
