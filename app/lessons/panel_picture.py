"""A panel as it should look on paper: its plots, heatmaps and captions, without the knobs.

    image = panel_picture(window.find_widget("attentionView"))    # a QImage for the hand-out

Buttons, sliders, spin boxes, fields, tabs and scroll bars are hidden for the moment of the picture (and
the labels that name them: a QLabel whose buddy is a control goes with it), a panel that scrolls is
pictured whole, not only the part in view, and everything is put back as it was.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QGraphicsView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QScrollArea,
    QScrollBar,
    QTabBar,
    QToolBar,
    QWidget,
)

from app.views.view_base import settle_plots

# What a reader of a printed page cannot use.
CONTROL_TYPES = (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QProgressBar,
    QTabBar,
    QToolBar,
)


def controls_in(root: QWidget) -> list[QWidget]:
    """Every control inside `root` (scroll bars are left to their scroll areas)."""
    return [
        widget
        for widget in root.findChildren(QWidget)
        if isinstance(widget, CONTROL_TYPES) and not isinstance(widget, QScrollBar)
    ]


def labels_of(root: QWidget, controls: Iterable[QWidget]) -> list[QLabel]:
    """The labels inside `root` that name or explain one of `controls` (their buddy): shown and hidden with it."""
    wanted = list(controls)
    return [label for label in root.findChildren(QLabel) if any(label.buddy() is control for control in wanted)]


def whole_content(panel: QWidget) -> QWidget:
    """What the panel shows: the inside of a scroll area that fills it (pictured whole), else the panel."""
    areas = panel.findChildren(QScrollArea, options=Qt.FindChildOption.FindDirectChildrenOnly)
    if len(areas) == 1 and areas[0].widget() is not None and areas[0].size() == panel.size():
        return areas[0].widget()
    return panel


def panel_picture(panel: QWidget) -> QImage:
    """The panel's plots and words as they are drawn now, with no control or scroll bar in the way."""
    subject = whole_content(panel)
    hidden = [widget for widget in controls_in(subject) if not widget.isHidden()]
    hidden += [label for label in labels_of(subject, hidden) if not label.isHidden()]
    scrolled = [area for area in subject.findChildren(QAbstractScrollArea) if not isinstance(area, QGraphicsView)]
    policies = [(area.horizontalScrollBarPolicy(), area.verticalScrollBarPolicy()) for area in scrolled]
    try:
        for widget in hidden:
            widget.hide()
        for area in scrolled:
            area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        QApplication.processEvents()  # the plots take the room the controls left
        settle_plots([subject])
        return trimmed(subject.grab().toImage())
    finally:
        for area, (horizontal, vertical) in zip(scrolled, policies):
            area.setHorizontalScrollBarPolicy(horizontal)
            area.setVerticalScrollBarPolicy(vertical)
        for widget in hidden:
            widget.show()


def trimmed(image: QImage) -> QImage:
    """The image without the empty margins around what is drawn (the background colour of its corner)."""
    pixels = image.convertToFormat(QImage.Format.Format_RGB32)
    rows = np.frombuffer(pixels.constBits(), np.uint32).reshape(pixels.height(), pixels.bytesPerLine() // 4)
    rows = rows[:, : pixels.width()]  # (H, W) one 0xAARRGGBB per pixel
    drawn = rows != rows[0, 0]
    if not drawn.any():
        return image
    used_rows, used_columns = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    top, bottom = used_rows[0], used_rows[-1]
    left, right = used_columns[0], used_columns[-1]
    return image.copy(int(left), int(top), int(right - left + 1), int(bottom - top + 1))
