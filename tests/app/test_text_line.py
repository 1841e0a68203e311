"""TextLine: new text repaints without re-laying out the window, unless it needs more (or fewer) lines."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.views.text_line import TextLine

LONG = "two hundred tokens, but this model reads at most one hundred and twenty-eight: the first are cut"


class LayoutRequests(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def shown_in_layout(qtbot, line: TextLine, width: int) -> tuple[QWidget, LayoutRequests]:
    parent = QWidget()
    qtbot.addWidget(parent)
    layout = QVBoxLayout(parent)
    layout.addWidget(line)
    layout.addStretch(1)
    parent.resize(width, 200)
    parent.show()
    qtbot.waitExposed(parent)
    qtbot.wait(20)  # the first layout settled
    requests = LayoutRequests()
    parent.installEventFilter(requests)
    return parent, requests


def test_new_text_of_the_same_size_only_repaints(qtbot):
    line = TextLine("7 tokens · the model reads up to 128", object_name="count", word_wrap=True)
    _, requests = shown_in_layout(qtbot, line, 400)
    height = line.height()
    for count in range(8, 20):
        line.setText(f"{count} tokens · the model reads up to 128")
        qtbot.wait(1)
    assert requests.count == 0
    assert line.text() == "19 tokens · the model reads up to 128" and line.height() == height
    assert line.accessibleName() == line.text()  # what a screen reader reads


def test_text_that_needs_more_lines_gets_them_and_back(qtbot):
    line = TextLine("short", word_wrap=True)
    _, requests = shown_in_layout(qtbot, line, 220)
    one_line = line.height()
    line.setText(LONG, colour=QColor("#b35c00"), bold=True)
    qtbot.waitUntil(lambda: line.height() >= 3 * one_line)
    assert requests.count >= 1
    line.setText("short again")
    qtbot.waitUntil(lambda: line.height() == one_line)


def test_a_long_single_line_never_widens_its_panel(qtbot):
    line = TextLine(LONG)
    parent, _ = shown_in_layout(qtbot, line, 150)
    assert line.minimumSizeHint().width() <= 40 < line.sizeHint().width()  # cut with "…" instead
    assert parent.width() == 150 and line.height() == line.sizeHint().height()


def test_a_line_that_keeps_room_does_not_shrink_while_its_width_stays(qtbot):
    """A narrow panel line that wraps to one line fewer on the next keystroke keeps its height (no
    re-layout of the panel), with the text at its top; a new width measures afresh."""
    line = TextLine("short", word_wrap=True, keep_room=True)
    parent, requests = shown_in_layout(qtbot, line, 220)
    one_line = line.height()
    line.setText(LONG)
    qtbot.waitUntil(lambda: line.height() >= 3 * one_line)
    tall = line.height()
    requests.count = 0
    for text in ("short again", LONG, "short"):
        line.setText(text)
        qtbot.wait(5)
    assert requests.count == 0 and line.height() == tall
    parent.resize(600, 200)  # a new width: only what this text needs there
    qtbot.waitUntil(lambda: line.height() == one_line)


def test_kept_room_draws_the_text_where_a_fitting_line_draws_it(qtbot):
    plain = TextLine("a few words", word_wrap=True)
    keeping = TextLine("a few words", word_wrap=True, keep_room=True)
    parents = [shown_in_layout(qtbot, line, 300)[0] for line in (plain, keeping)]  # kept alive
    assert len(parents) == 2
    assert plain.size() == keeping.size()
    assert plain.grab().toImage() == keeping.grab().toImage()
