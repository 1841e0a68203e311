"""A line of text that changes on every keystroke (a token count, a heading) without re-laying out the window.

A QLabel's setText asks its layout to recompute, and each layout then asks the one above it, up to the
main window: at every keystroke that re-laid out two docks and the window and repainted them (about
3 ms of a 50 ms budget). This widget only repaints itself, and asks for a new layout only when the text
needs a different number of lines.

    summary = TextLine(object_name="tokenSummary", word_wrap=True)
    summary.setText("64 tokens · the model reads up to 128")
    summary.setText("130 tokens, but ...", colour=QColor("#b35c00"), bold=True)   # a warning

A narrow line whose text wraps to one line more or fewer from one keystroke to the next (a panel's
"likeliest next ‘x’ at 12.3%") would still re-lay out its whole panel every time: with keep_room=True it
keeps the height of the most lines it has needed at its width, and only a new width starts afresh.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

TALL = 10_000  # a height no text here reaches: the box text is measured in


class TextLine(QWidget):
    def __init__(
        self,
        text: str = "",
        object_name: str = "",
        word_wrap: bool = False,
        parent: QWidget | None = None,
        keep_room: bool = False,
    ) -> None:
        super().__init__(parent)
        if object_name:
            self.setObjectName(object_name)
        self._text = ""
        self._colour: QColor | None = None  # this text's own colour (a warning), else the default
        self._default_colour: QColor | None = None  # None: the palette's text colour
        self._bold = False
        self._word_wrap = word_wrap
        self._lines = 1  # lines the text took when the layout last asked (with keep_room: the most it took)
        self._keep_room = keep_room and word_wrap
        self._room_width = -1  # the width self._lines was kept at (keep_room)
        policy = QSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred if word_wrap else QSizePolicy.Fixed)
        policy.setHeightForWidth(word_wrap)
        self.setSizePolicy(policy)
        self.setAttribute(Qt.WA_OpaquePaintEvent)  # it fills its own background: the dock behind is not repainted
        self.setText(text)

    # -- the text -------------------------------------------------------------------------------
    def text(self) -> str:
        return self._text

    def setText(self, text: str, colour: QColor | None = None, bold: bool = False) -> None:
        if (text, colour, bold) == (self._text, self._colour, self._bold):
            return
        self._text, self._colour, self._bold = text, colour, bold
        self.setAccessibleName(text)  # what a screen reader reads, as it would a label's text
        needed = self._lines_for(self.width())
        if needed > self._lines or (needed < self._lines and not self._keep_room):
            self.updateGeometry()  # taller or shorter: the layout must make room
        self.update()

    def set_default_colour(self, colour: QColor | None) -> None:
        """The colour of plain text (None: the palette's); a colour given to setText wins."""
        self._default_colour = colour
        self.update()

    # -- size -----------------------------------------------------------------------------------
    def _font(self) -> QFont:
        chosen = QFont(self.font())
        chosen.setBold(self._bold)
        return chosen

    def _flags(self) -> int:
        vertical = Qt.AlignTop if self._keep_room else Qt.AlignVCenter  # kept room stays below the text
        return int(Qt.AlignLeft | vertical | (Qt.TextWordWrap if self._word_wrap else 0))

    def _lines_for(self, width: int) -> int:
        metrics = QFontMetrics(self._font())
        if not self._word_wrap or width <= 0 or not self._text:
            return 1
        height = metrics.boundingRect(QRect(0, 0, width, TALL), self._flags(), self._text).height()
        return max(1, round(height / metrics.lineSpacing()))

    def _height_of(self, lines: int) -> int:
        metrics = QFontMetrics(self._font())
        return metrics.height() + (lines - 1) * metrics.lineSpacing()

    def sizeHint(self) -> QSize:
        width = QFontMetrics(self._font()).horizontalAdvance(self._text) + 4
        return QSize(min(width, 400) if self._word_wrap else width, self._height_of(1))

    def minimumSizeHint(self) -> QSize:
        return QSize(0 if self._word_wrap else min(self.sizeHint().width(), 40), self._height_of(1))

    def hasHeightForWidth(self) -> bool:
        return self._word_wrap

    def heightForWidth(self, width: int) -> int:
        lines = self._lines_for(width)
        if self._keep_room and width == self._room_width:
            lines = max(lines, self._lines)
        self._lines, self._room_width = lines, width
        return self._height_of(lines)

    # -- drawing --------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        colour = self._colour or self._default_colour or self.palette().windowText().color()
        painter.setPen(colour)
        painter.setFont(self._font())
        text = self._text
        if not self._word_wrap:  # one line: cut with "…" rather than clipped mid-letter
            text = QFontMetrics(self._font()).elidedText(text, Qt.ElideRight, self.width())
        painter.drawText(self.rect(), self._flags(), text)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presenter mode's bigger fonts need more room
            self.updateGeometry()
