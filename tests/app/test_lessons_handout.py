"""Hand-outs: the PDF's pages render and carry the prompt; every panel exports as PNG and SVG."""
import xml.etree.ElementTree as ElementTree

import numpy as np
import pypdfium2 as pdfium
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDockWidget

from lesson_fixtures import PROMPT, classroom, shown  # noqa: F401  (fixtures)


def test_the_lesson_pdf_renders_with_this_prompts_text_and_figures(tmp_path, window, shown):
    shown.pane.go_to(0, 1)
    path = shown.export_handout(tmp_path / "opening")
    assert path.suffix == ".pdf"
    opening = shown.lessons[0]
    pdf = pdfium.PdfDocument(str(path))
    try:
        pages = [pdf[i] for i in range(len(pdf))]
        texts = [page.get_textpage().get_text_bounded() for page in pages]
        assert len(pages) == 1 + len(opening.steps)           # a cover, then a page per step
        assert PROMPT in " ".join(texts[0].split())            # the prompt, as typed
        for step, text in zip(opening.steps, texts[1:]):
            assert step.title in text
        sentences = shown.handout(0).pages[1].sentences          # the model-size step's live sentences
        assert sentences and " ".join(sentences[0].split()) in " ".join(texts[2].split())
        for page in pages:
            pixels = page.render(scale=0.5).to_numpy()          # (H, W, 3) as PDFium draws it
            assert pixels.size and (pixels < 128).any(), "a page with nothing on it"
        figure_page = pages[1].render(scale=0.5).to_numpy().astype(int)
        colourful = np.abs(figure_page - figure_page.mean(axis=2, keepdims=True)).max(axis=2) > 40
        assert colourful.sum() > 200                          # the output panel's coloured bars
    finally:
        pdf.close()
    assert shown.pane.position == (0, 1)                        # the pane is back where it was


def test_every_panel_exports_as_png_and_svg(tmp_path, window, shown):
    written = shown_panels = [d for d in window.findChildren(QDockWidget) if not d.isHidden()]
    from app.lessons.handout import export_panels

    written = export_panels(window, tmp_path)
    assert len(written) == 2 * len(shown_panels)
    for path in written:
        if path.suffix == ".png":
            image = QImage(str(path))
            assert not image.isNull() and image.width() > 50
        else:
            assert ElementTree.parse(path).getroot().tag.endswith("svg")
