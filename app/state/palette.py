"""The colours of the light and dark themes, in one place and without Qt.

They come in two roles, because what is on screen uses two sets today:
- `widgets`: the Qt palette and the panels that paint themselves (the prompt's token strip, the
  next-token bars, the what-if chart, the lesson pane), a soft grey window with a blue accent;
- `plots`: everything pyqtgraph draws (heatmaps, arcs, scatter and curve plots), a plain white or
  near-black background with a red-orange accent, so the chosen cell stands out from a blue colour map.

    colours(dark).widgets.accent     # "#2f6fde" in the light theme
    colours(dark).plots["accent"]    # "#d93025" in the light theme
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from collections.abc import Mapping


@dataclass(frozen=True)
class WidgetColours:
    window: str  # panel background
    base: str  # text-field background
    text: str  # ordinary text
    muted: str  # secondary text (ids, hints)
    accent: str  # the thing to look at (chosen bar, selection)
    increase: str  # a probability that went up
    decrease: str  # a probability that went down
    warning: str  # cut tokens, errors


@dataclass(frozen=True)
class Palette:
    widgets: WidgetColours  # Qt widgets and the panels that paint themselves
    plots: Mapping[str, str]  # pyqtgraph: background, text, axis, muted, hatch, accent, line (read-only)


LIGHT = Palette(
    widgets=WidgetColours(
        window="#f4f4f6",
        base="#ffffff",
        text="#1d1d1f",
        muted="#6e6e73",
        accent="#2f6fde",
        increase="#1f9d55",
        decrease="#d64545",
        warning="#c0392b",
    ),
    plots=MappingProxyType(
        dict(
            background="#ffffff",
            text="#202124",
            axis="#5f6368",
            muted="#9aa0a6",
            hatch="#b0b4ba",
            accent="#d93025",
            line="#1a73e8",
        )
    ),
)
DARK = Palette(
    widgets=WidgetColours(
        window="#232428",
        base="#1a1b1e",
        text="#e8e8ea",
        muted="#9a9aa2",
        accent="#6ea2ff",
        increase="#4cc38a",
        decrease="#ff6b6b",
        warning="#ff7b6b",
    ),
    plots=MappingProxyType(
        dict(
            background="#1e1f22",
            text="#e8eaed",
            axis="#9aa0a6",
            muted="#5f6368",
            hatch="#6b6f75",
            accent="#ff8a65",
            line="#8ab4f8",
        )
    ),
)


def colours(dark: bool) -> Palette:
    """The theme's palette: `.widgets` for Qt widgets, `.plots` for pyqtgraph."""
    return DARK if dark else LIGHT
