"""Light and dark themes: one Qt palette plus pyqtgraph's background and foreground to match.

The colours themselves are in app/state/palette.py (no Qt). Plots take theirs through app.views.plot_style;
widgets that paint themselves (the token strip, the output bars) ask `colours(dark)` here, so a panel
never paints light text on a light background.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.state.palette import WidgetColours
from app.state.palette import colours as palette_colours


def colours(dark: bool) -> WidgetColours:
    """The widget role of the theme's palette (app/state/palette.py)."""
    return palette_colours(dark).widgets


def apply_theme(app: QApplication, dark: bool) -> WidgetColours:
    """Switch the whole application; plots created afterwards pick up pyqtgraph's new defaults."""
    palette = palette_colours(dark)
    chosen = palette.widgets
    app.setStyle("Fusion")  # the one style whose palette is honoured the same on every platform
    app.setPalette(_palette(chosen))
    plots = palette.plots
    pg.setConfigOptions(background=plots["background"], foreground=plots["text"])
    return chosen


def _palette(chosen: WidgetColours) -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    palette.setColor(role.Window, QColor(chosen.window))
    palette.setColor(role.WindowText, QColor(chosen.text))
    palette.setColor(role.Base, QColor(chosen.base))
    palette.setColor(role.AlternateBase, QColor(chosen.window))
    palette.setColor(role.Text, QColor(chosen.text))
    palette.setColor(role.Button, QColor(chosen.window))
    palette.setColor(role.ButtonText, QColor(chosen.text))
    palette.setColor(role.ToolTipBase, QColor(chosen.base))
    palette.setColor(role.ToolTipText, QColor(chosen.text))
    palette.setColor(role.PlaceholderText, QColor(chosen.muted))
    palette.setColor(role.Highlight, QColor(chosen.accent))
    palette.setColor(role.HighlightedText, QColor("#ffffff"))
    palette.setColor(role.Link, QColor(chosen.accent))
    disabled = QPalette.ColorGroup.Disabled
    for muted_role in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, muted_role, QColor(chosen.muted))
    return palette
