"""How a panel draws a snapshot of the Compare switch's three modes (app/state/comparison.py).

A difference (clean − corrupted) is drawn on the diverging colour map, centred on 0, whatever the panel
draws the clean prompt with (weights in [0, 1] on the probability map); titles say which prompt is shown.

    levels, name = matrix_scale(snapshot, pattern, (0.0, 1.0), PROBABILITY_MAP)
    heatmap.set_colormap(name); heatmap.set_matrix(pattern, levels, ...)
    heatmap.set_title(mode_caption(snapshot, "attention weights"))
"""

from __future__ import annotations

import numpy as np

from app.state.snapshot import Snapshot
from core.teaching.analysis import symmetric_range

from .plot_style import SIGNED_MAP

CAPTIONS = {"clean": "", "corrupted": " (corrupted prompt)", "difference": ", clean − corrupted"}


def matrix_scale(
    snapshot: Snapshot, values: np.ndarray, levels: tuple[float, float], colormap_name: str
) -> tuple[tuple[float, float], str]:
    """(levels, colour map) for `values`: as the panel asks, or centred on 0 for a difference."""
    if snapshot.is_difference:
        return symmetric_range(values), SIGNED_MAP
    return levels, colormap_name


def mode_caption(snapshot: Snapshot, title: str) -> str:
    """`title`, saying when it shows the corrupted prompt or the difference."""
    return title + CAPTIONS[snapshot.mode]


PREFIXES = {
    "clean": "",
    "corrupted": "<b>Corrupted prompt.</b> ",
    "difference": "<b>Difference, clean − corrupted.</b> ",
}


def mode_prefix(snapshot: Snapshot) -> str:
    """What to put before a panel's header sentence: which prompt it shows (nothing for the clean one)."""
    return PREFIXES[snapshot.mode]
