"""A panel as it should look on paper: its plots, heatmaps and captions, without the knobs.

    image = panel_picture(window.find_widget("attentionView"))    # a QImage for the hand-out

Buttons, sliders, spin boxes, fields, tabs and scroll bars are hidden for the moment of the picture (and
the labels that name them: a QLabel whose buddy is a control goes with it), a panel that scrolls is
pictured whole, not only the part in view, and everything is put back as it was.
"""
from __future__ import annotations

from collections.abc import Iterable

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
CONTROL_TYPES = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, QProgressBar, QTabBar,
                 QToolBar)


def controls_in(root: QWidget) -> list[QWidget]:
    """Every control inside `root` (scroll bars are left to their scroll areas)."""
    return [widget for widget in root.findChildren(QWidget)
            if isinstance(widget, CONTROL_TYPES) and not isinstance(widget, QScrollBar)]


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
        return subject.grab().toImage()
    finally:
        for area, (horizontal, vertical) in zip(scrolled, policies):
            area.setHorizontalScrollBarPolicy(horizontal)
            area.setVerticalScrollBarPolicy(vertical)
        for widget in hidden:
            widget.show()
