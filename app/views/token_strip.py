"""The prompt's tokens as coloured chips: what the model actually reads, one chip per token.

Painted by hand (one widget, no child widget per token) so a 1,000-token prompt redraws in a blink.
Each chip shows the token's label and, underneath, its id. Tokens cut to fit the context come first,
greyed and struck through, followed by a scissors mark where the model starts reading.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from app.theme import colours
from app.views.plot_style import shared_prefix, text_widths

GOLDEN_RATIO = 0.6180339887  # steps the hue so neighbouring ids get clearly different colours
PADDING, GAP, LINE_GAP = 6, 4, 6
CUT_MARK = "✂ model reads from here"


@dataclass(frozen=True)
class Chip:
    label: str  # the token as text ('␣' for space)
    token_id: int | None  # None for the scissors mark
    raw: bytes = b""  # the bytes the token stands for
    cut: bool = False  # True: cut off to fit the context, not read by the model
    position: int | None = None  # index among the tokens the model reads


def chip_colour(token_id: int, dark: bool) -> QColor:
    """The same id always gets the same colour."""
    hue = (token_id * GOLDEN_RATIO) % 1.0
    return QColor.fromHslF(hue, 0.55, 0.30) if dark else QColor.fromHslF(hue, 0.70, 0.86)


class TokenStrip(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenStrip")
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self._chips: list[Chip] = []
        self._rects: list[QRectF] = []
        self._painted: list[Chip] = []  # the chips the last layout placed (to repaint only what changed)
        self._given: tuple = ((), [], [], [])  # set_tokens' last (cut labels, labels, ids, bytes)
        self._sizes: list[QSize] = []  # each chip's size, in the order of _chips
        self._laid_out_width = 0  # the width the chips were placed in
        self.dark = False
        self._placeholder = "Type a prompt above: its tokens appear here."
        self._base_point_size = self.font().pointSizeF()
        self.set_zoom(1.0)

    # -- content ---------------------------------------------------------------------------------
    def set_tokens(self, labels, ids, raw_bytes=(), cut_labels=()) -> None:
        """Chips for the tokens. Those the last call already had in front (a keystroke at the end of a
        long prompt keeps all but one) are kept with their sizes and places; only the rest is made."""
        raw_bytes = tuple(raw_bytes) or (b"",) * len(labels)
        given = (tuple(cut_labels), list(labels), list(map(int, ids)), list(raw_bytes))
        first_read = len(cut_labels) + 1 if cut_labels else 0  # the chips before it: cut ones and the mark
        kept = 0 if given[0] != self._given[0] else first_read + min(map(shared_prefix, self._given[1:], given[1:]))
        chips = [Chip(label, None, cut=True) for label in cut_labels][kept:]
        if cut_labels and kept < first_read:
            chips.append(Chip(CUT_MARK, None))
        start = max(kept - first_read, 0)
        chips += [
            Chip(label, token_id, raw, position=i)
            for i, label, token_id, raw in zip(range(start, len(labels)), *(part[start:] for part in given[1:]))
        ]
        self._given = given
        self._chips = self._chips[:kept] + chips
        self._relayout(kept)

    def clear_tokens(self, placeholder: str) -> None:
        self._chips, self._given = [], ((), [], [], [])
        self._placeholder = placeholder
        self._relayout()

    def chips(self) -> list[Chip]:
        return list(self._chips)

    def set_zoom(self, zoom: float) -> None:
        """Chips `zoom` times their normal size (presenter mode, Ctrl+=): the token larger than its id."""
        self._label_font = QFont(self.font())
        self._label_font.setPointSizeF(self._base_point_size * 1.1 * zoom)
        self._id_font = QFont(self.font())
        self._id_font.setPointSizeF(self._base_point_size * 0.8 * zoom)
        self._sizes = []  # measured in the old fonts
        self._relayout()
        self.update()  # the same chips in a new font: _relayout repaints only chips that moved

    def set_dark(self, dark: bool) -> None:
        self.dark = dark
        self.update()

    # -- layout: chips flow left to right and wrap ---------------------------------------------
    def _chip_sizes(self, chips: list[Chip]) -> list[QSize]:
        label_widths = text_widths(self._label_font, [chip.label for chip in chips])
        id_widths = text_widths(self._id_font, [str(chip.token_id) for chip in chips])
        height = self._chip_height()
        return [
            QSize(max(label_width, id_width if chip.token_id is not None else 0, 8) + 2 * PADDING, height)
            for chip, label_width, id_width in zip(chips, label_widths, id_widths)
        ]

    def _chip_height(self) -> int:
        """Every chip's height: a line of the label font over a line of the id font."""
        return QFontMetrics(self._label_font).height() + QFontMetrics(self._id_font).height() + PADDING

    def _relayout(self, kept: int = 0) -> None:
        """Place the chips; the first `kept` are where they were (same chips, same width), and since every
        chip has the same height, where the next one goes follows from the last of them."""
        width = max(self.width(), 100)
        kept = min(kept, len(self._sizes), len(self._rects)) if width == self._laid_out_width else 0
        self._laid_out_width = width
        self._sizes = self._sizes[:kept] + self._chip_sizes(self._chips[kept:])
        before, painted = self._rects, self._painted
        self._rects = self._rects[:kept]
        x, y, row_height = GAP, GAP, 0
        if kept:
            last = self._rects[-1]
            x, y, row_height = last.right() + GAP, last.top(), last.height()
        for size in self._sizes[kept:]:
            if x + size.width() > width - GAP and x > GAP:
                x, y = GAP, y + row_height + LINE_GAP
                row_height = 0
            self._rects.append(QRectF(x, y, size.width(), size.height()))
            x += size.width() + GAP
            row_height = max(row_height, size.height())
        total = y + row_height + GAP if self._chips else 2 * QFontMetrics(self.font()).height()
        self.setMinimumHeight(int(total))
        self._update_changed(painted, before, kept)

    def _update_changed(self, painted: list[Chip], before: list[QRectF], same: int) -> None:
        """Repaint only the chips that changed (the first `same` did not): typing at the end of a long
        prompt redraws one chip."""
        self._painted = self._chips
        if not before or not self._rects:
            self.update()
            return
        end = min(len(painted), len(before), len(self._rects))  # (a resize within _relayout has them differ)
        while same < end and painted[same] == self._chips[same] and before[same] == self._rects[same]:
            same += 1
        changed = before[same:] + self._rects[same:]
        if changed:
            area = QRectF(changed[0])
            for rect in changed[1:]:
                area = area.united(rect)
            self.update(area.adjusted(-2, -2, 2, 2).toAlignedRect())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relayout()

    def sizeHint(self) -> QSize:
        return QSize(400, self.minimumHeight())

    # -- drawing ---------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        theme = colours(self.dark)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if not self._chips:
            painter.setPen(QColor(theme.muted))
            painter.drawText(self.rect().adjusted(GAP, GAP, -GAP, -GAP), Qt.AlignmentFlag.AlignLeft, self._placeholder)
            return
        label_height = QFontMetrics(self._label_font).height()
        area = QRectF(event.rect())
        # Chips are placed row by row, so those in the area are one run of them: found by bisection.
        first = bisect.bisect_left(self._rects, area.top(), key=QRectF.bottom)
        end = bisect.bisect_right(self._rects, area.bottom(), key=QRectF.top)
        for chip, rect in zip(self._chips[first:end], self._rects[first:end]):
            if rect.intersects(area):
                self._paint_chip(painter, chip, rect, label_height, theme)

    def _paint_chip(self, painter: QPainter, chip: Chip, rect: QRectF, label_height: int, theme) -> None:
        if chip.token_id is None and not chip.cut:  # the scissors mark
            painter.setPen(QPen(QColor(theme.warning), 1.5, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 5, 5)
            painter.setFont(self._label_font)
            painter.setPen(QColor(theme.warning))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, chip.label)
            return
        fill = QColor(theme.window).darker(115) if chip.cut else self.chip_fill(chip)
        painter.setPen(QPen(QColor(theme.muted), 0.8))
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 5, 5)
        label_font = QFont(self._label_font)
        label_font.setStrikeOut(chip.cut)
        painter.setFont(label_font)
        painter.setPen(QColor(theme.muted if chip.cut else theme.text))
        label_rect = QRectF(rect.x(), rect.y() + PADDING // 2, rect.width(), label_height)
        painter.drawText(label_rect, Qt.AlignmentFlag.AlignCenter, chip.label)
        if chip.token_id is not None:
            painter.setFont(self._id_font)
            painter.setPen(QColor(theme.muted))
            id_rect = QRectF(rect.x(), label_rect.bottom(), rect.width(), rect.bottom() - label_rect.bottom())
            painter.drawText(id_rect, Qt.AlignmentFlag.AlignCenter, str(chip.token_id))

    def chip_fill(self, chip: Chip) -> QColor:
        """A read token's colour: by its id here; a subclass may shade by something else."""
        return chip_colour(chip.token_id, self.dark)

    # -- hover: id, text and bytes -----------------------------------------------------------
    def row_height(self) -> int:
        """One row of chips and the gap below it."""
        return self._chip_height() + LINE_GAP

    def chip_rects(self) -> list[QRectF]:
        """Where each chip is drawn, in the order of chips()."""
        return list(self._rects)

    def chip_at(self, x: float, y: float) -> Chip | None:
        for chip, rect in zip(self._chips, self._rects):
            if rect.contains(x, y):
                return chip
        return None

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            chip = self.chip_at(event.pos().x(), event.pos().y())
            if chip is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), tooltip_for(chip), self)
            return True
        return super().event(event)


def tooltip_for(chip: Chip) -> str:
    if chip.token_id is None and not chip.cut:
        return "Tokens before this mark do not fit in the model's context, so the model never sees them."
    if chip.cut:
        return f"“{chip.label}” was cut: the prompt is longer than the model's context."
    text = chip.raw.decode("utf-8", errors="replace")
    byte_list = " ".join(f"{b:02X}" for b in chip.raw) or "–"
    return f"token {chip.position}: id {chip.token_id}\ntext: {text!r}\nbytes: {byte_list}"
