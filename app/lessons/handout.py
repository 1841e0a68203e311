"""Hand-outs: a lesson as an A4 PDF, two steps a page, each with its prompt, its numbers and its panel.

    write_handout_pdf("lesson.pdf", Handout(...))       # Qt's own PDF writer, painted page by page
    export_panels(window, folder)                        # every panel as PNG and SVG
    export_view(window, "window")                        # the whole window as window.png and window.svg

Each step gets half a page: its title, the prompt its picture and numbers come from, the picture floated
to the right of the explanation, the live sentences and the suggestion. A long step shrinks its text and
picture until it fits its half, so the hand-out always has ceil(steps / 2) pages.
"""

from __future__ import annotations

import datetime
import html
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFrameFormat,
    QTextImageFormat,
)
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QWidget

from app.views.export import save_png, save_svg

STEPS_PER_PAGE = 2
RESOLUTION = 300  # dots per inch of the PDF's page coordinates
MARGIN_MM = 14
GAP_MM = 6  # between the two steps of a page, a thin line in the middle
BODY_POINT_SIZES = (10, 9.5, 9, 8.5, 8, 7.5, 7, 6.5)  # tried largest first until a step fits its half
FIGURE_SHARES = (0.56, 0.5, 0.44, 0.38, 0.32)  # a picture's share of the text width, likewise...
FIGURE_MAX_HEIGHT = 0.62  # ...at most this share of the half page, so the words always have room
WIDE_FIGURE = 1.8  # a picture this many times wider than tall goes across the page instead,
WIDE_HEIGHT_SHARES = (0.58, 0.5, 0.43, 0.36, 0.3, 0.24)  # at these shares of the half page's height
PROMPT_CHARACTERS = 150  # a longer prompt is shown by its start and its length
HEADER_POINT_SIZE = 15
SMALL_POINT_SIZE = 7.5
LINE_COLOUR = "#999999"


@dataclass(frozen=True)
class HandoutPage:
    title: str  # the step's title
    body: str  # its explanation, Markdown
    sentences: tuple[str, ...]  # live sentences filled with this prompt's numbers
    try_this: str  # the suggestion
    figure: QImage | None  # a clean picture of the step's panel showing `prompt` (None: nothing to picture)
    prompt: str = ""  # the prompt the figure and the sentences come from
    note: str = ""  # said instead of a figure, e.g. why there is none


@dataclass(frozen=True)
class Handout:
    title: str  # the lesson's title
    summary: str
    prompt: str  # the prompt shown when the hand-out was made
    model: str  # one line describing the model every figure and number comes from
    pages: tuple[HandoutPage, ...]


def page_count(handout: Handout) -> int:
    return max(1, math.ceil(len(handout.pages) / STEPS_PER_PAGE))


def _points(size: float, device) -> float:
    """A font size in points as pixels of `device` (what the layout of a document on it uses)."""
    return size * device.logicalDpiY() / 72


def shown_prompt(prompt: str) -> str:
    """The prompt as printed: whole if short, else its start and how long it is."""
    if len(prompt) <= PROMPT_CHARACTERS:
        return prompt
    return f"{prompt[:PROMPT_CHARACTERS].rstrip()} … ({len(prompt):,} characters)"


def step_document(
    number: int,
    page: HandoutPage,
    width: float,
    point_size: float,
    figure_width: float,
    figure_height_limit: float,
    device,
) -> QTextDocument:
    """One step laid out `width` pixels of `device` wide: title, prompt, the figure floated right of the text."""
    document = QTextDocument()
    document.documentLayout().setPaintDevice(device)
    font = QFont()
    font.setPointSizeF(point_size)
    document.setDefaultFont(font)
    document.setDocumentMargin(0)
    cursor = QTextCursor(document)
    cursor.insertHtml(f"<b style='font-size:{point_size * 1.3:.1f}pt'>{number}. {html.escape(page.title)}</b>")
    if page.prompt:
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        cursor.insertHtml(
            f"<b>Prompt:</b> <span style='font-family:monospace'>{html.escape(shown_prompt(page.prompt))}</span>"
        )
    cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
    if page.figure is not None and not page.figure.isNull():
        _insert_figure(document, cursor, page.figure, f"figure-{number}.png", figure_width, figure_height_limit)
    elif page.note:
        cursor.insertHtml(f"<i>{html.escape(page.note)}</i>")
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
    cursor.insertMarkdown(page.body)
    if page.sentences:
        items = "".join(f"<li>{html.escape(sentence)}</li>" for sentence in page.sentences)
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        cursor.insertHtml(f"<b>With this prompt:</b><ul>{items}</ul>")
    if page.try_this:
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        cursor.insertHtml(f"<b>Try this:</b> {html.escape(page.try_this)}")
    document.setTextWidth(width)
    return document


def _is_wide(figure: QImage | None) -> bool:
    return figure is not None and not figure.isNull() and figure.width() >= WIDE_FIGURE * figure.height()


def _insert_figure(
    document: QTextDocument, cursor: QTextCursor, figure: QImage, name: str, width: float, height_limit: float
) -> None:
    """A wide figure across the page above the words; any other at the right edge, the words flowing round it."""
    document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), figure)
    # Qt enlarges a document's images by the paint device's dpi over the screen's: undo that, so the figure
    # is `width` device pixels wide as asked.
    scale = min(width / figure.width(), height_limit / figure.height()) / _image_enlargement(document)
    image = QTextImageFormat()
    image.setName(name)
    image.setWidth(figure.width() * scale)
    image.setHeight(figure.height() * scale)
    if _is_wide(figure):
        cursor.insertImage(image)
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
    else:
        cursor.insertImage(image, QTextFrameFormat.Position.FloatRight)


def _image_enlargement(document: QTextDocument) -> float:
    device = document.documentLayout().paintDevice()
    screen = QGuiApplication.primaryScreen()
    return 1.0 if device is None else device.logicalDpiY() / (screen.logicalDotsPerInchY() if screen else 96)


def fitted_step(number: int, page: HandoutPage, width: float, height: float, device) -> QTextDocument:
    """The step at the largest text and picture that fit `height`; the smallest of both if none does."""
    document = None
    if _is_wide(page.figure):
        figure_sizes = [(width, height * share) for share in WIDE_HEIGHT_SHARES]
    else:
        figure_sizes = [(width * share, height * FIGURE_MAX_HEIGHT) for share in FIGURE_SHARES]
    # Text and picture shrink together, a step at a time (then the text before the picture at each step).
    pairs = sorted(
        itertools.product(range(len(BODY_POINT_SIZES)), range(len(figure_sizes))), key=lambda pair: (max(pair), pair)
    )
    for text_step, figure_step in pairs:
        point_size, (figure_width, figure_height) = BODY_POINT_SIZES[text_step], figure_sizes[figure_step]
        document = step_document(number, page, width, point_size, figure_width, figure_height, device)
        if document.size().height() <= height:
            return document
    return document


def write_handout_pdf(path, handout: Handout) -> Path:
    """Write the hand-out as an A4 PDF; raises OSError if the file cannot be written."""
    path = Path(path)
    if path.suffix.lower() != ".pdf":
        path = path.with_name(path.name + ".pdf")
    writer = QPdfWriter(str(path))
    writer.setTitle(handout.title)
    writer.setCreator("Attention Lab")
    writer.setResolution(RESOLUTION)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
            QPageLayout.Unit.Millimeter,
        )
    )
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"Could not write {path}; choose a folder you can write to.")
    try:
        _paint_pages(painter, writer, handout)
    finally:
        painter.end()
    del writer  # the file is finished when the writer goes
    if not path.is_file() or path.stat().st_size == 0:
        raise OSError(f"Could not write {path}; choose a folder you can write to.")
    return path


def _paint_pages(painter: QPainter, writer: QPdfWriter, handout: Handout) -> None:
    paint_rect = writer.pageLayout().paintRectPixels(RESOLUTION)
    area = QRectF(0, 0, paint_rect.width(), paint_rect.height())  # the painter's origin is the margin's corner
    millimetre = RESOLUTION / 25.4
    pages = page_count(handout)
    for index in range(pages):
        if index:
            writer.newPage()
        top = area.top()
        if index == 0:
            top += _paint_header(painter, writer, handout, area.width()) + 3 * millimetre
        footer = _paint_footer(painter, writer, handout, area, index, pages)
        steps = handout.pages[index * STEPS_PER_PAGE : (index + 1) * STEPS_PER_PAGE]
        gap = GAP_MM * millimetre
        half = (area.bottom() - footer - top - gap * (STEPS_PER_PAGE - 1)) / STEPS_PER_PAGE
        for slot, page in enumerate(steps):
            slot_top = top + slot * (half + gap)
            if slot:
                painter.setPen(QPen(QColor(LINE_COLOUR), 0.3 * millimetre))
                painter.drawLine(QPointF(area.left(), slot_top - gap / 2), QPointF(area.right(), slot_top - gap / 2))
            number = index * STEPS_PER_PAGE + slot + 1
            document = fitted_step(number, page, area.width(), half, writer)
            painter.save()
            painter.translate(area.left(), slot_top)
            document.drawContents(painter, QRectF(0, 0, area.width(), half))
            painter.restore()


def _paint_header(painter: QPainter, writer: QPdfWriter, handout: Handout, width: float) -> float:
    """The lesson's title, summary, model and date above the first page's steps; returns its height."""
    document = QTextDocument()
    document.documentLayout().setPaintDevice(writer)
    font = QFont()
    font.setPointSizeF(SMALL_POINT_SIZE + 1)
    document.setDefaultFont(font)
    document.setDocumentMargin(0)
    today = datetime.date.today().isoformat()
    cursor = QTextCursor(document)
    cursor.insertHtml(f"<p style='font-size:{HEADER_POINT_SIZE}pt'><b>{html.escape(handout.title)}</b></p>")
    cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
    cursor.insertHtml(f"<i>{html.escape(handout.summary)}</i>")  # the introduction speaks of the window: not printed
    cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
    cursor.insertHtml(
        f"<b>Model:</b> {html.escape(handout.model)} &nbsp;·&nbsp; made {today} with Attention Lab. "
        "Every picture and number on these pages comes from this model reading the prompt shown "
        "with it."
    )
    document.setTextWidth(width)
    document.drawContents(painter)
    return document.size().height()


def _paint_footer(
    painter: QPainter, writer: QPdfWriter, handout: Handout, area: QRectF, index: int, pages: int
) -> float:
    """'Lesson title · page n of N' at the bottom; returns the height it takes."""
    font = QFont()
    font.setPointSizeF(SMALL_POINT_SIZE)
    painter.setFont(QFont(font, writer))
    painter.setPen(QColor(LINE_COLOUR))
    height = _points(SMALL_POINT_SIZE * 1.6, writer)
    painter.drawText(
        QRectF(area.left(), area.bottom() - height, area.width(), height),
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
        f"{handout.title} · page {index + 1} of {pages}",
    )
    return height * 1.5


# -- pictures ---------------------------------------------------------------------------------------
def file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "panel"


def export_view(widget: QWidget, stem) -> list[Path]:
    """The widget (e.g. the whole window) as STEM.png and STEM.svg."""
    stem = Path(stem)
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    save_png(widget, png)
    save_svg(widget, svg, title=stem.name)
    return [png, svg]


def export_panels(window: QMainWindow, folder) -> list[Path]:
    """Every panel as PNG and SVG in `folder`, each brought to the front for its picture, then put back."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    docks = [dock for dock in window.findChildren(QDockWidget) if dock.widget() is not None and not dock.isHidden()]
    in_front = [dock for dock in docks if dock.widget().isVisible()]
    written: list[Path] = []
    for dock in docks:
        dock.raise_()
        QApplication.processEvents()  # let the raised tab lay itself out before its picture
        written += export_view(dock.widget(), folder / file_stem(dock.windowTitle()))
    for dock in in_front:
        dock.raise_()
    return written
