"""One look for every plot: fonts big enough for a projector, perceptual colour maps, light and dark."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from functools import cache

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics

from app.state.palette import colours as palette_colours

# Colour maps: perceptually uniform, readable in grey, friendly to colour-blind viewers.
PROBABILITY_MAP = "viridis"  # 0..1 values such as attention weights
SIGNED_MAP = "CET-D1A"  # values around 0 (embeddings, scores): blue < 0 < red
CYCLIC_MAP = "CET-C3"  # angles, where 2π is the same as 0 (white = no turn)

TICK_POINT_SIZE = 10
AXIS_TITLE_POINT_SIZE = 9  # axis titles ("probability"): the application's size, grown in presenter mode
TITLE_POINT_SIZE = 12
CELL_TEXT_POINT_SIZE = 9

# How text sits in its box, as ints: enum arithmetic is not free in a drawing loop.
RIGHT_MIDDLE = int(Qt.AlignRight | Qt.AlignVCenter)
LEFT_MIDDLE = int(Qt.AlignLeft | Qt.AlignVCenter)
CENTRE_TOP = int(Qt.AlignHCenter | Qt.AlignTop)
CENTRE_MIDDLE = int(Qt.AlignCenter)

# Distinct colours for a few curves (Okabe–Ito, safe for colour-blind viewers).
CURVE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#999999")


def colours(dark: bool) -> Mapping[str, str]:
    """The plot role of the theme's palette (app/state/palette.py): background, text, axis, accent..."""
    return palette_colours(dark).plots


@cache
def colormap(name: str) -> pg.ColorMap:
    return pg.colormap.get(name)


_font_scale = 1.0  # presenter mode makes every plot font larger (app.lessons.presenter)
_zoom = 1.0  # the user's own zoom (Ctrl+= / Ctrl+-), on top of presenter mode's scale


def set_font_scale(scale: float) -> None:
    global _font_scale
    _font_scale = float(scale)


def set_zoom(zoom: float) -> None:
    global _zoom
    _zoom = float(zoom)


def zoom() -> float:
    return _zoom


ZOOMS = (0.8, 0.9, 1.0, 1.1, 1.25, 1.4, 1.6, 1.8, 2.0)  # Ctrl+= / Ctrl+- step through these scales


def stepped_zoom(steps: int) -> float:
    """The zoom `steps` places up (> 0) or down (< 0) the ZOOMS ladder from the current one."""
    larger = [z for z in ZOOMS if z > _zoom + 1e-6]
    smaller = [z for z in ZOOMS if z < _zoom - 1e-6]
    if steps > 0 and larger:
        return larger[0]
    return smaller[-1] if steps < 0 and smaller else _zoom


def scale() -> float:
    """How much larger than normal every plot font is drawn: presenter mode's scale times the zoom."""
    return _font_scale * _zoom


def title_size() -> str:
    """Plot titles' size for pyqtgraph (which takes CSS), grown by presenter mode like every font."""
    return f"{TITLE_POINT_SIZE * scale():.0f}pt"


def font(point_size: int = TICK_POINT_SIZE, bold: bool = False) -> QFont:
    chosen = QFont()
    chosen.setPointSizeF(point_size * scale())
    chosen.setBold(bold)
    return chosen


_text_widths: dict[tuple[str, str], int] = {}  # (font key, text) -> pixels: measuring text is slow


def text_widths(chosen: QFont, texts: Sequence[str]) -> list[int]:
    """Each text's width in pixels in `chosen`, measured once per font and text (token labels repeat
    from keystroke to keystroke)."""
    font_key = chosen.key()
    widths, metrics = [], None
    for text in texts:
        width = _text_widths.get((font_key, text))
        if width is None:
            if len(_text_widths) > 50_000:
                _text_widths.clear()
            metrics = metrics or QFontMetrics(chosen)
            width = _text_widths[(font_key, text)] = metrics.horizontalAdvance(text)
        widths.append(width)
    return widths


def shared_prefix(before: Sequence, after: Sequence) -> int:
    """How many leading items two sequences share (token labels before and after a keystroke)."""
    both = min(len(before), len(after))
    if before[:both] == after[:both]:  # typing or deleting at the end: one comparison in C
        return both
    return next(index for index in range(both) if before[index] != after[index])


def wrapped_title(title: str, width: float, chosen: QFont) -> tuple[str, int]:
    """`title` as it fits `width` pixels in `chosen`: whole, or broken into lines at spaces (HTML <br>,
    which pyqtgraph's titles understand); and how many lines that makes."""
    metrics = QFontMetrics(chosen)
    if metrics.horizontalAdvance(title) <= width:
        return title, 1
    lines, line = [], ""
    for word in title.split(" "):
        longer = f"{line} {word}" if line else word
        if line and metrics.horizontalAdvance(longer) > width:
            lines.append(line)
            line = word
        else:
            line = longer
    lines.append(line)
    return "<br>".join(lines), len(lines)


def abbreviate(label: str, limit: int = 12) -> str:
    """Keep a tick label short enough to read: 'international' -> 'internationa…'."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def contrasting_text(colour: QColor) -> QColor:
    """Black or white, whichever reads better on `colour`."""
    luminance = 0.2126 * colour.redF() + 0.7152 * colour.greenF() + 0.0722 * colour.blueF()
    return QColor("#000000") if luminance > 0.5 else QColor("#ffffff")


def style_axis(axis: pg.AxisItem, dark: bool) -> None:
    palette = colours(dark)
    axis.setPen(pg.mkPen(palette["axis"]))
    axis.setTextPen(pg.mkPen(palette["text"]))
    axis.label.setFont(font(AXIS_TITLE_POINT_SIZE))  # before setStyle, which makes room for the title
    axis.setStyle(tickFont=font())
    axis.label.setDefaultTextColor(QColor(palette["text"]))


def style_plot_item(plot: pg.PlotItem, dark: bool) -> None:
    """Axes and title of one plot in the theme's colours."""
    for side in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(side)
        if axis is not None:
            style_axis(axis, dark)
    if plot.titleLabel.text:
        plot.setTitle(plot.titleLabel.text, color=colours(dark)["text"], size=title_size())


def style_graphics_view(widget: pg.GraphicsView, dark: bool) -> None:
    widget.setBackground(colours(dark)["background"])


def legend_html(entries: Sequence[tuple[str, str, str]]) -> str:
    """A one-line legend for a label above a plot, where it can never cover a curve: (mark, colour, name)
    entries, e.g. ("■", "#0072B2", "attention adds") or ("━", ...) for a line."""
    return " &nbsp; ".join(
        f"<span style='color:{colour}'>{mark}</span>&nbsp;{html.escape(name)}" for mark, colour, name in entries
    )
