"""Hand-outs: a lesson as a PDF with this prompt's figures and numbers, and pictures of the panels.

    write_handout_pdf("lesson.pdf", Handout(...))       # Qt's own PDF writer, one page per step
    export_panels(window, folder)                        # every panel as PNG and SVG
    export_view(window, "window")                        # the whole window as window.png and window.svg
"""
from __future__ import annotations

import datetime
import html
import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF, QSizeF, QUrl
from PySide6.QtGui import (QFont, QImage, QPageLayout, QPageSize, QPdfWriter, QTextBlockFormat, QTextCursor,
                           QTextDocument, QTextImageFormat)
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QWidget

from app.views.export import save_png, save_svg

PAGE_WIDTH = 700            # layout width of the text, in document pixels (A4 keeps its proportions)
FIGURE_WIDTH = 640
BODY_POINT_SIZE = 10.5


@dataclass(frozen=True)
class HandoutPage:
    title: str                  # the step's title
    body: str                   # its explanation, Markdown
    sentences: tuple[str, ...]  # live sentences filled with this prompt's numbers
    try_this: str               # the suggestion
    figure: QImage | None       # a picture of the step's panel showing this prompt


@dataclass(frozen=True)
class Handout:
    title: str                  # the lesson's title
    summary: str
    introduction: str           # Markdown
    prompt: str                 # the prompt every figure and number comes from
    model: str                  # one line describing the model
    pages: tuple[HandoutPage, ...]


def _escaped_lines(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _page_break(cursor: QTextCursor) -> None:
    block = QTextBlockFormat()
    block.setPageBreakPolicy(QTextBlockFormat.PageBreakFlag.PageBreak_AlwaysBefore)
    cursor.insertBlock(block)


def _plain_block(cursor: QTextCursor) -> None:
    cursor.insertBlock(QTextBlockFormat())


def build_document(handout: Handout) -> QTextDocument:
    """The hand-out as one rich-text document: a cover, then each step on its own page."""
    document = QTextDocument()
    font = QFont()
    font.setPointSizeF(BODY_POINT_SIZE)
    document.setDefaultFont(font)
    document.setTextWidth(PAGE_WIDTH)
    cursor = QTextCursor(document)
    today = datetime.date.today().isoformat()
    cursor.insertHtml(
        f"<h1>{html.escape(handout.title)}</h1><p><i>{html.escape(handout.summary)}</i></p>"
        f"<p><b>Prompt:</b></p><table border='1' cellpadding='6' cellspacing='0' width='100%'><tr><td>"
        f"<tt>{_escaped_lines(handout.prompt)}</tt></td></tr></table>"
        f"<p><b>Model:</b> {html.escape(handout.model)}<br><b>Made:</b> {today} with Attention Lab</p>"
    )
    _plain_block(cursor)
    cursor.insertMarkdown(handout.introduction)
    for number, page in enumerate(handout.pages, start=1):
        _page_break(cursor)
        cursor.insertHtml(f"<h2>{number}. {html.escape(page.title)}</h2>")
        _plain_block(cursor)
        cursor.insertMarkdown(page.body)
        _plain_block(cursor)
        if page.sentences:
            items = "".join(f"<li>{html.escape(s)}</li>" for s in page.sentences)
            cursor.insertHtml(f"<p><b>With this prompt:</b></p><ul>{items}</ul>")
            _plain_block(cursor)
        if page.try_this:
            cursor.insertHtml(f"<p><b>Try this:</b> {html.escape(page.try_this)}</p>")
            _plain_block(cursor)
        if page.figure is not None and not page.figure.isNull():
            _plain_block(cursor)
            _insert_figure(document, cursor, page.figure, f"figure-{number}.png")
    return document


def _insert_figure(document: QTextDocument, cursor: QTextCursor, figure: QImage, name: str) -> None:
    document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), figure)
    image = QTextImageFormat()
    image.setName(name)
    width = min(FIGURE_WIDTH, figure.width())
    image.setWidth(width)
    image.setHeight(figure.height() * width / figure.width())
    cursor.insertImage(image)


def write_handout_pdf(path, handout: Handout) -> Path:
    """Write the hand-out as an A4 PDF; raises OSError if the file cannot be written."""
    path = Path(path)
    if path.suffix.lower() != ".pdf":
        path = path.with_name(path.name + ".pdf")
    writer = QPdfWriter(str(path))
    writer.setTitle(handout.title)
    writer.setCreator("Attention Lab")
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
    document = build_document(handout)
    # Lay the text out on pages with A4's proportions; print_ scales them to the writer's pages.
    paint_rect = writer.pageLayout().paintRect(QPageLayout.Unit.Point)
    document.setPageSize(QSizeF(PAGE_WIDTH, PAGE_WIDTH * paint_rect.height() / paint_rect.width()))
    document.print_(writer)
    del writer  # the file is finished when the writer goes
    if not path.is_file() or path.stat().st_size == 0:
        raise OSError(f"Could not write {path}; choose a folder you can write to.")
    return path


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
