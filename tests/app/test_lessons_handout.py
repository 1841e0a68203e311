"""Hand-outs: two steps a page, each with the words and a clean picture from its own prompt; every panel
exports as PNG and SVG."""

import math
import xml.etree.ElementTree as ElementTree

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QAbstractButton, QDockWidget

from app.lessons.panel_picture import controls_in, labels_of, panel_picture, trimmed
from core.teaching.lessons import live_sentences

from lesson_fixtures import PROMPT, classroom, shown  # noqa: F401  (fixtures)


def flat(text: str) -> str:
    return " ".join(text.split())


def inked_rows(pixels: np.ndarray) -> np.ndarray:
    """(H,) True where a row of a rendered page has ink on it."""
    return (pixels < 200).any(axis=(1, 2))


def test_the_pdf_has_two_steps_a_page_each_with_its_prompt_words_and_picture(tmp_path, window, shown):
    shown.pane.go_to(0, 1)
    opening = shown.lessons[0]
    handout = shown.handout(0)
    path = shown.export_handout(tmp_path / "opening", 0)
    assert path.suffix == ".pdf"
    pdf = pdfium.PdfDocument(str(path))
    try:
        assert len(pdf) == math.ceil(len(opening.steps) / 2)
        for index in range(len(pdf)):
            page = pdf[index]
            text = flat(page.get_textpage().get_text_bounded())
            pixels = page.render(scale=0.5).to_numpy()  # (H, W, 3) as PDFium draws it
            steps = handout.pages[2 * index : 2 * index + 2]
            for number, step in enumerate(steps, start=2 * index + 1):
                assert f"{number}. {flat(step.title)}" in text
                assert flat(f"Prompt: {step.prompt}") in text  # the prompt its words and picture come from
            height = page.get_height()
            image_tops = [obj.get_bounds()[3] for obj in page.get_objects() if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE]
            for half, step in enumerate(steps):  # PDF heights count from the bottom
                assert step.figure is not None
                assert any(height * (1 - (half + 1) / 2) < top < height * (1 - half / 2) for top in image_tops)
            for half in np.array_split(pixels, 2)[: len(steps)]:
                assert inked_rows(half).sum() > 50  # lines of words
    finally:
        pdf.close()
    assert shown.pane.position == (0, 1)  # the pane is back where it was
    assert window.controller.prompt == PROMPT  # and so is the prompt


def test_each_steps_picture_and_numbers_come_from_its_own_prompt(qtbot, window, shown, show_prompt):
    opening = shown.lessons[0]
    handout = shown.handout(0)
    first, first_page = opening.steps[0], handout.pages[0]
    assert first.action.prompt and first_page.prompt == first.action.prompt != PROMPT
    show_prompt(first.action.prompt)  # the same prompt by hand: the same words and picture
    assert first_page.sentences == tuple(live_sentences(first, shown.numbers_for(first)))
    assert first_page.sentences
    shown.highlighter.bring_forward(first.panel, flash=False)
    again = panel_picture(window.find_widget("outputView"))
    assert again == first_page.figure
    show_prompt(PROMPT)
    assert panel_picture(window.find_widget("outputView")) != first_page.figure  # another prompt: another picture
    assert handout.prompt == PROMPT  # the cover names the prompt on screen


def test_a_panels_picture_has_no_controls_and_puts_them_back(window, shown):
    output = window.output_view
    controls = [c for c in controls_in(output) if not c.isHidden()]
    labels = labels_of(output, controls)
    assert any(isinstance(c, QAbstractButton) for c in controls) and labels
    with_controls = output.grab().toImage()
    picture = panel_picture(output)
    assert 0 < picture.height() <= with_controls.height() and picture != with_controls
    assert all(not c.isHidden() for c in controls) and all(not label.isHidden() for label in labels)


def test_the_studio_is_pictured_only_when_its_run_is_what_the_words_describe(window, shown):
    step = next(s for s in shown.lessons[0].steps if s.panel.startswith("trainingStudio,"))
    subject, note = shown.handouts.pictured(step)
    assert subject is window.find_widget("outputView") and not note  # no run in the studio: its fallback


def test_every_panel_exports_as_png_and_svg(tmp_path, window, shown):
    shown_panels = [d for d in window.findChildren(QDockWidget) if not d.isHidden()]
    from app.lessons.handout import export_panels

    written = export_panels(window, tmp_path)
    assert len(written) == 2 * len(shown_panels)
    for path in written:
        if path.suffix == ".png":
            image = QImage(str(path))
            assert not image.isNull() and image.width() > 50
        else:
            assert ElementTree.parse(path).getroot().tag.endswith("svg")


def test_a_picture_loses_its_empty_margins():
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    for x in range(10, 25):
        image.setPixelColor(x, 5, QColor("black"))
        image.setPixelColor(x, 20, QColor("red"))
    picture = trimmed(image)
    assert (picture.width(), picture.height()) == (15, 16)
    assert picture.pixelColor(0, 0) == QColor("black") and picture.pixelColor(14, 15) == QColor("red")
    blank = QImage(8, 8, QImage.Format.Format_RGB32)
    blank.fill(QColor("white"))
    assert trimmed(blank).size() == blank.size()  # nothing drawn: nothing to cut


def test_a_long_prompt_is_printed_by_its_start_and_length():
    from app.lessons.handout import PROMPT_CHARACTERS, shown_prompt

    assert shown_prompt("Anna met Ben.") == "Anna met Ben."
    long = "Anna met Ben. " * 40
    assert shown_prompt(long).startswith(long[:PROMPT_CHARACTERS].rstrip())
    assert shown_prompt(long).endswith(f"({len(long):,} characters)")


def test_a_step_about_the_saved_training_pictures_its_curves(window, shown, monkeypatch):
    from app.lessons.history_picture import history_picture
    from core.training.trainer import TrainConfig

    train = [[step, 5.0 / (1 + step)] for step in range(0, 200, 10)]
    val = [[step, 5.5 / (1 + step)] for step in range(0, 200, 50)]
    recipe = TrainConfig(max_steps=200, warmup_steps=20)
    monkeypatch.setattr(shown.numbers, "model_history", lambda: (train, val, recipe))
    steps = {step.id: step for lesson in shown.lessons for step in lesson.steps}
    picture = shown.handouts.saved_training_picture(steps["03-train-and-validation"])
    assert picture is not None and picture.size() == history_picture(train, val, recipe).size()
    assert (
        shown.handouts.saved_training_picture(steps["01-loss-gradient-update"]) is None
    )  # about one step on the prompt
    assert shown.handouts.saved_training_picture(steps["01-next-token"]) is None  # not a studio step
    pixels = np.frombuffer(picture.convertToFormat(QImage.Format.Format_Grayscale8).constBits(), np.uint8)
    assert pixels.std() > 5  # curves, not a blank
