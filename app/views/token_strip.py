"""The prompt's tokens as coloured chips: what the model actually reads, one chip per token.

Painted by hand (one widget, no child widget per token) so a 1,000-token prompt redraws in a blink.
Each chip shows the token's label and, underneath, its id. Tokens cut to fit the context come first,
greyed and struck through, followed by a scissors mark where the model starts reading.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from app.theme import colours
from app.views.plot_style import text_widths

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
        self.dark = False
        self._placeholder = "Type a prompt above: its tokens appear here."
        self._base_point_size = self.font().pointSizeF()
        self.set_zoom(1.0)

    # -- content ---------------------------------------------------------------------------------
    def set_tokens(self, labels, ids, raw_bytes=(), cut_labels=()) -> None:
        chips = [Chip(label, None, cut=True) for label in cut_labels]
        if cut_labels:
            chips.append(Chip(CUT_MARK, None))
        raw_bytes = tuple(raw_bytes) or (b"",) * len(labels)
        chips += [
            Chip(label, int(token_id), raw, position=i)
            for i, (label, token_id, raw) in enumerate(zip(labels, ids, raw_bytes))
        ]
        self._chips = chips
        self._relayout()

    def clear_tokens(self, placeholder: str) -> None:
        self._chips = []
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
        self._relayout()
        self.update()  # the same chips in a new font: _relayout repaints only chips that moved

    def set_dark(self, dark: bool) -> None:
        self.dark = dark
        self.update()

    # -- layout: chips flow left to right and wrap ---------------------------------------------
    def _chip_sizes(self) -> list[QSize]:
        label_widths = text_widths(self._label_font, [chip.label for chip in self._chips])
        id_widths = text_widths(self._id_font, [str(chip.token_id) for chip in self._chips])
        height = QFontMetrics(self._label_font).height() + QFontMetrics(self._id_font).height() + PADDING
        return [
            QSize(max(label_width, id_width if chip.token_id is not None else 0, 8) + 2 * PADDING, height)
            for chip, label_width, id_width in zip(self._chips, label_widths, id_widths)
        ]

    def _relayout(self) -> None:
        width = max(self.width(), 100)
        x = y = GAP
        row_height = 0
        before = list(zip(self._painted, self._rects))
        self._rects = []
        for size in self._chip_sizes():
            if x + size.width() > width - GAP and x > GAP:
                x, y = GAP, y + row_height + LINE_GAP
                row_height = 0
            self._rects.append(QRectF(x, y, size.width(), size.height()))
            x += size.width() + GAP
            row_height = max(row_height, size.height())
        total = y + row_height + GAP if self._chips else 2 * QFontMetrics(self.font()).height()
        self.setMinimumHeight(int(total))
        self._update_changed(before, list(zip(self._chips, self._rects)))

    def _update_changed(self, before: list, after: list) -> None:
        """Repaint only the chips that changed: typing at the end of a long prompt redraws one chip."""
        self._painted = list(self._chips)
        if not before or not after:
            self.update()
            return
        same = 0
        while same < min(len(before), len(after)) and before[same] == after[same]:
            same += 1
        changed = [rect for _, rect in before[same:] + after[same:]]
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
        for chip, rect in zip(self._chips, self._rects):
            if not rect.intersects(QRectF(event.rect())):
                continue
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
        return QFontMetrics(self._label_font).height() + QFontMetrics(self._id_font).height() + PADDING + LINE_GAP

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
