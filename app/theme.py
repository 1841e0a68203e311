"""Light and dark themes: one Qt palette plus pyqtgraph's background and foreground to match.

Plots take their colours from app.views.plot_style; widgets that paint themselves (the token strip,
the output bars) ask `colours(dark)` here, so a panel never paints light text on a light background.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.views.plot_style import colours as plot_colours


@dataclass(frozen=True)
class Colours:
    window: str       # panel background
    base: str         # text-field background
    text: str         # ordinary text
    muted: str        # secondary text (ids, hints)
    accent: str       # the thing to look at (chosen bar, selection)
    increase: str     # a probability that went up
    decrease: str     # a probability that went down
    warning: str      # cut tokens, errors


LIGHT = Colours(
    window="#f4f4f6", base="#ffffff", text="#1d1d1f", muted="#6e6e73",
    accent="#2f6fde", increase="#1f9d55", decrease="#d64545", warning="#c0392b",
)
DARK = Colours(
    window="#232428", base="#1a1b1e", text="#e8e8ea", muted="#9a9aa2",
    accent="#6ea2ff", increase="#4cc38a", decrease="#ff6b6b", warning="#ff7b6b",
)


def colours(dark: bool) -> Colours:
    return DARK if dark else LIGHT


def apply_theme(app: QApplication, dark: bool) -> Colours:
    """Switch the whole application; plots created afterwards pick up pyqtgraph's new defaults."""
    chosen = colours(dark)
    app.setStyle("Fusion")  # the one style whose palette is honoured the same on every platform
    app.setPalette(_palette(chosen))
    plots = plot_colours(dark)
    pg.setConfigOptions(background=plots["background"], foreground=plots["text"])
    return chosen


def _palette(chosen: Colours) -> QPalette:
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
