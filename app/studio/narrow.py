"""Two parts side by side on a wide studio, one above the other on a narrow one (a 1280x720 screen).

    arrangement = QBoxLayout(QBoxLayout.Direction.LeftToRight, widget)
    def minimumSizeHint(self): return narrow_minimum(super().minimumSizeHint(), self.arrangement)
    def resizeEvent(self, event): stack_when_narrow(self.arrangement, event.size().width(), WIDE); ...

The minimum is the stacked one, so a side-by-side pair never holds the window wider than the screen:
once the widget is given less than `wide_from` pixels the parts go above each other.
"""
from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QBoxLayout

SIDE_BY_SIDE, STACKED = QBoxLayout.Direction.LeftToRight, QBoxLayout.Direction.TopToBottom


def stack_when_narrow(arrangement: QBoxLayout, width: int, wide_from: int) -> None:
    """Side by side from `wide_from` pixels wide, above each other below that."""
    direction = SIDE_BY_SIDE if width >= wide_from else STACKED
    if arrangement.direction() != direction:
        arrangement.setDirection(direction)


def narrow_minimum(hint: QSize, arrangement: QBoxLayout) -> QSize:
    """`hint` (the widget's own minimum) made as narrow as its parts above each other."""
    if arrangement.direction() == SIDE_BY_SIDE:
        widest = max((arrangement.itemAt(i).minimumSize().width() for i in range(arrangement.count())), default=0)
        margins = arrangement.contentsMargins()
        hint = QSize(widest + margins.left() + margins.right(), hint.height())
    return hint
