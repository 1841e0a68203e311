"""The lesson pane: one step at a time, its explanation, live sentences, a "try this", and Next/Back.

    pane = LessonPane(load_lessons())
    pane.step_changed.connect(...)        # (lesson index, step index): bring the step's panel forward
    pane.set_numbers(numbers)             # a dict from core.teaching.lesson_numbers.live_numbers
    pane.set_model_features(features)     # what the model on screen offers (core.teaching.lesson_checks.model_features)
    pane.open_model_requested.connect(...)  # (folder): open the built-in model a step needs
    pane.set_answerer(answer)             # answer(question) -> live numbers, for "predict, then reveal"

The pane shows what it is given; it never computes a number itself. Keys (with the focus here): Right or Space = next;
Left or Backspace = back; Up, Down and the page keys scroll (in presenter mode the page keys turn pages everywhere).
"""
from __future__ import annotations

import html
import re

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont, QTextBlockFormat, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QLayout, QPushButton, QScrollArea, QSizePolicy, QSplitter,
                               QTextBrowser, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from app.theme import colours
from core.teaching.lesson_checks import missing, model_for
from core.teaching.lessons import Lesson, LessonError, LessonStep, live_sentences

from .questions_view import QuestionsView

NEXT_KEYS = (Qt.Key.Key_Right, Qt.Key.Key_Space)
BACK_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Backspace)
NO_NUMBERS = "Type a prompt: the numbers here come from the model reading it."


def _bold(text: str) -> str:
    """Markdown's **bold** as HTML (the introduction is shown inside an HTML box)."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)


class LessonPane(QWidget):
    TITLE = "Lesson"
    TOOLTIP = "A guided walk through the model with your own prompt: arrow keys or space to move on."
    OBJECT_NAME = "lessonPane"
    FOLLOWS_SELECTION = False

    step_changed = Signal(int, int)  # (lesson index, step index)
    open_model_requested = Signal(object)  # the folder of the built-in model a step needs
    try_requested = Signal()               # do what this step's "try this" says, in the window

    def __init__(self, lessons: tuple[Lesson, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if not lessons:
            raise ValueError("The lesson pane needs at least one lesson.")
        self.setObjectName(self.OBJECT_NAME)
        self.lessons = lessons
        self._position = (0, 0)
        self._numbers: dict | None = None
        self._features: frozenset[str] | None = None   # the model on screen's, in `needs:` words
        self._answer = lambda question: {}               # the classroom's: computes a question's answer
        self._follow_live = False  # Try it was pressed on this step: keep its live sentences in view
        self.questions: QuestionsView | None = None
        self._base_point_size = self.font().pointSizeF()
        self._colours = colours(False)
        self._build()
        self._install_keys()
        self.go_to(0, 0)

    # -- building --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.contents = QTreeWidget(objectName="lessonContents")
        self.contents.setHeaderHidden(True)
        self.contents.setToolTip("Table of contents: click a step to go there.")
        for lesson_index, lesson in enumerate(self.lessons):
            top = QTreeWidgetItem([lesson.title])
            top.setData(0, Qt.ItemDataRole.UserRole, (lesson_index, 0))
            top.setToolTip(0, lesson.summary)
            for step_index, step in enumerate(lesson.steps):
                child = QTreeWidgetItem([f"{step_index + 1}. {step.title}"])
                child.setData(0, Qt.ItemDataRole.UserRole, (lesson_index, step_index))
                top.addChild(child)
            self.contents.addTopLevelItem(top)
        self.contents.expandAll()
        self.contents.itemClicked.connect(self._on_contents_clicked)
        self.contents.itemActivated.connect(self._on_contents_clicked)  # Enter on a step

        self.heading = QLabel(objectName="lessonHeading", wordWrap=True)
        self.counter = QLabel(objectName="lessonCounter")
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # One scrolling document holds the explanation, the live sentences and the suggestion, so a
        # small pane scrolls instead of cutting anything off.
        self.text = QTextBrowser(objectName="lessonText")
        self.text.setOpenExternalLinks(False)
        self._build_needs_bar()
        self.questions_area = QScrollArea(objectName="lessonQuestionsArea", widgetResizable=True)
        self.questions_area.setFrameShape(QFrame.Shape.NoFrame)
        self.questions_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.questions_area.hide()

        self.back_button = QPushButton("◀ Back", objectName="lessonBack")
        self.back_button.setToolTip("Previous step (Left arrow, or Page Up in presenter mode).")
        self.back_button.clicked.connect(self.go_back)
        self.next_button = QPushButton("Next ▶", objectName="lessonNext")
        self.next_button.setToolTip("Next step (Right arrow or space, or Page Down in presenter mode).")
        self.next_button.clicked.connect(self.go_next)
        self.try_button = QPushButton("Try it", objectName="lessonTryIt")
        self.try_button.setToolTip("Do what \"Try this\" says: type its prompt, tick its head, train its steps.")
        self.try_button.clicked.connect(self._keep_live_in_view)
        self.try_button.clicked.connect(self.try_requested)
        self.contents_button = QPushButton("Contents", objectName="lessonContentsButton", checkable=True)
        self.contents_button.setToolTip("Show or hide the table of contents.")
        self.contents_button.toggled.connect(self._on_contents_toggled)

        step_area = QWidget()
        step_layout = QVBoxLayout(step_area)
        step_layout.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        header.addWidget(self.heading, stretch=1)
        header.addWidget(self.counter)
        step_layout.addLayout(header)
        step_layout.addWidget(self.needs_bar)
        step_layout.addWidget(self.text, stretch=1)
        step_layout.addWidget(self.questions_area, stretch=3)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.contents)
        self.splitter.addWidget(step_area)
        self.splitter.setStretchFactor(1, 1)
        self.contents.hide()  # the Contents button shows it
        self.keys_hint = QLabel(objectName="lessonKeysHint", wordWrap=True)  # presenter mode's keys, on screen
        self.keys_hint.hide()

        self.buttons = QWidget(objectName="lessonButtons")
        row = QHBoxLayout(self.buttons)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.back_button)
        row.addWidget(self.contents_button)
        row.addStretch(1)
        row.addWidget(self.try_button)
        row.addWidget(self.next_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter, stretch=1)
        layout.addWidget(self.buttons)
        layout.addWidget(self.keys_hint)
        self._apply_fonts(1.0)

    def _build_needs_bar(self) -> None:
        """Where the model on screen cannot show this step: say so, and offer the built-in one that can."""
        self.needs_bar = QFrame(objectName="lessonNeeds")
        # Shown and hidden step by step: it must never widen the pane (the docks beside it would move).
        self.needs_bar.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.needs_bar.setFrameShape(QFrame.Shape.StyledPanel)
        self.needs_label = QLabel(objectName="lessonNeedsText")   # one line: its height never changes
        self.needs_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.open_model_button = QPushButton(objectName="lessonOpenModel")
        self.open_model_button.clicked.connect(self._on_open_model_clicked)
        row = QHBoxLayout(self.needs_bar)
        row.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        row.setContentsMargins(6, 4, 6, 4)
        row.addWidget(self.needs_label, stretch=1)
        row.addWidget(self.open_model_button)
        self.needs_bar.hide()

    def _install_keys(self) -> None:
        """Arrow keys turn the page even while the text has focus (it would otherwise take them)."""
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocusProxy(self.text)
        for widget in (self, self.text, self.text.viewport()):
            widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride) or event.modifiers():
            return False
        move = {**dict.fromkeys(NEXT_KEYS, self.go_next), **dict.fromkeys(BACK_KEYS, self.go_back)}.get(event.key())
        if move is None:
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # ours, not a window shortcut's
            return True
        move()
        return True

    # -- where we are ----------------------------------------------------------------------------
    @property
    def position(self) -> tuple[int, int]:
        """(lesson index, step index)."""
        return self._position

    @property
    def lesson(self) -> Lesson:
        return self.lessons[self._position[0]]

    @property
    def step(self) -> LessonStep:
        return self.lesson.steps[self._position[1]]

    def position_ids(self) -> tuple[str, str]:
        """(lesson id, step id): a position that survives lessons being added or reordered."""
        return self.lesson.id, self.step.id

    def go_to_ids(self, lesson_id: str, step_id: str) -> bool:
        """Go to a step by its ids; False (and no move) if this set of lessons has no such step."""
        for lesson_index, lesson in enumerate(self.lessons):
            for step_index, step in enumerate(lesson.steps):
                if (lesson.id, step.id) == (lesson_id, step_id):
                    self.go_to(lesson_index, step_index)
                    return True
        return False

    def go_to(self, lesson_index: int, step_index: int) -> None:
        lesson_index = max(0, min(lesson_index, len(self.lessons) - 1))
        step_index = max(0, min(step_index, len(self.lessons[lesson_index].steps) - 1))
        self._position = (lesson_index, step_index)
        self._show_step()
        self.step_changed.emit(lesson_index, step_index)

    def go_next(self) -> None:
        """The next step; after a lesson's last step, the next lesson's first."""
        lesson_index, step_index = self._position
        if step_index + 1 < len(self.lesson.steps):
            self.go_to(lesson_index, step_index + 1)
        elif lesson_index + 1 < len(self.lessons):
            self.go_to(lesson_index + 1, 0)

    def go_back(self) -> None:
        lesson_index, step_index = self._position
        if step_index > 0:
            self.go_to(lesson_index, step_index - 1)
        elif lesson_index > 0:
            self.go_to(lesson_index - 1, len(self.lessons[lesson_index - 1].steps) - 1)

    # -- what is shown ---------------------------------------------------------------------------
    def set_numbers(self, numbers: dict | None) -> None:
        """Live numbers for the current prompt (None: no prompt yet)."""
        self._numbers = numbers
        self._render()

    def set_model_features(self, features: frozenset[str]) -> None:
        """What the model on screen offers; steps that need more say so (the same as before: nothing to redo)."""
        if features == self._features:
            return
        self._features = features
        self._show_needs()

    def set_answerer(self, answer) -> None:
        self._answer = answer

    def unmet_needs(self) -> list[str]:
        """This step's needs the model on screen does not meet, in words (none before a model is known)."""
        return [] if self._features is None else missing(self.step.needs, self._features)

    def _show_needs(self) -> None:
        if self.keys_hint.isVisibleTo(self):
            return  # presenting: the layout stays as it is (set_presenting hid the bar)
        unmet = self.unmet_needs()
        self.needs_bar.setVisible(bool(unmet))
        if not unmet:
            return
        offer = model_for(self.step.needs)
        text = f"This step needs {' and '.join(unmet)}."
        self.open_model_button.setVisible(offer is not None)
        if offer is not None:
            self.open_model_button.setText(f"Open {offer.name}")
            self.open_model_button.setToolTip(f"Show {offer.name} (from {offer.folder.name}) instead of this one.")
            self.open_model_button.setProperty("folder", str(offer.folder))
        else:
            text += " No built-in model has that: train one in the studio."
        self.needs_label.setText(text)
        self.needs_label.setToolTip(f"The model on screen cannot show this step. {text}")

    def _on_open_model_clicked(self) -> None:
        self.open_model_requested.emit(self.open_model_button.property("folder"))

    def sentences(self) -> list[str]:
        """The live sentences as shown now (empty before the first prompt)."""
        if self._numbers is None:
            return []
        return live_sentences(self.step, self._numbers)

    def _show_step(self) -> None:
        lesson_index, step_index = self._position
        self.heading.setText(self.step.title)
        self.counter.setText(f"{step_index + 1} / {len(self.lesson.steps)}")
        self.back_button.setEnabled(self._position != (0, 0))
        last = (len(self.lessons) - 1, len(self.lessons[-1].steps) - 1)
        self.next_button.setEnabled(self._position != last)
        self._select_in_contents()
        self.try_button.setEnabled(not self.step.action.is_empty)
        self._show_needs()
        self._show_questions()
        self._follow_live = False
        self._render(scroll_to=0)

    def _show_questions(self) -> None:
        if self.questions is not None:
            self.questions.deleteLater()
            self.questions = None
        if self.step.questions:
            self.questions = QuestionsView(self.step.questions, lambda question: self._answer(question), self.step.body)
            self.questions_area.setWidget(self.questions)
        # A questions page is all questions: its few lines of introduction sit above them, not in the text.
        self.questions_area.setVisible(bool(self.step.questions))
        self.text.setVisible(not self.step.questions)

    def _render(self, scroll_to: int | None = None) -> None:
        """Explanation, then the live sentences and the try-this in boxes; scrolled as before (or to `scroll_to`)."""
        scroll_bar = self.text.verticalScrollBar()
        scroll_to = scroll_bar.value() if scroll_to is None else scroll_to
        document = self.text.document()
        document.clear()
        cursor = QTextCursor(document)
        if self._position[1] == 0 and self.lesson.introduction:  # each lesson opens with its introduction
            cursor.insertHtml(self._box_html("lessonIntro", self.introduction_html(), self._colours.accent))
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        cursor.insertMarkdown(self.step.body)
        if self.step.live:
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
            live_at = QTextCursor(cursor)
            live_at.setKeepPositionOnInsert(True)
            cursor.insertHtml(self._box_html("lessonLive", self.live_html(), self._colours.accent))
        if self.step.try_this:
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
            try_html = f"<b>Try this:</b> {html.escape(self.step.try_this)}"
            cursor.insertHtml(self._box_html("lessonTry", try_html, self._colours.increase))
        if self.step.live and self._follow_live:  # at 1280×720 the live box is below the fold: bring it up
            scroll_to = self.text.cursorRect(live_at).top() + scroll_bar.value()
        scroll_bar.setValue(scroll_to)

    def _box_html(self, name: str, inner: str, edge: str) -> str:
        return (f"<table id='{name}' width='100%' cellpadding='8' cellspacing='0' style='margin-top:6px'>"
                f"<tr><td width='5' bgcolor='{edge}'></td><td bgcolor='{self._colours.base}'>{inner}</td></tr></table>")

    def introduction_html(self) -> str:
        paragraphs = "".join(f"<p>{_bold(html.escape(p.strip()))}</p>" for p in self.lesson.introduction.split("\n\n"))
        return f"<b>{html.escape(self.lesson.title)}</b>{paragraphs}"

    def live_html(self) -> str:
        if self._numbers is None:
            return f"<i>{html.escape(NO_NUMBERS)}</i>"
        try:
            sentences = self.sentences()
        except LessonError as error:  # a teacher's template that cannot be filled: say so, keep going
            return f"<i>{html.escape(str(error))}</i>"
        if not sentences:
            return "<i>This step has no live numbers for this model.</i>"
        items = "".join(f"<li>{html.escape(sentence)}</li>" for sentence in sentences)
        return f"<b>With your prompt:</b><ul>{items}</ul>"

    def _keep_live_in_view(self) -> None:
        self._follow_live = True
        self._render()

    def _select_in_contents(self) -> None:
        lesson_index, step_index = self._position
        item = self.contents.topLevelItem(lesson_index).child(step_index)
        self.contents.blockSignals(True)
        self.contents.setCurrentItem(item)
        self.contents.blockSignals(False)

    def _on_contents_toggled(self, visible: bool) -> None:
        self.contents.setVisible(visible)
        if visible:  # a splitter gives a hidden part no room: make some
            total = sum(self.splitter.sizes())
            self.splitter.setSizes([int(total * 0.4), total - int(total * 0.4)])
            self.contents.scrollToItem(self.contents.currentItem())

    def _on_contents_clicked(self, item: QTreeWidgetItem) -> None:
        lesson_index, step_index = item.data(0, Qt.ItemDataRole.UserRole)
        self.go_to(lesson_index, step_index)

    def show_snapshot(self, snapshot) -> None:
        """Nothing to redraw here: the classroom refreshes the live numbers from each snapshot."""

    def set_theme(self, dark: bool) -> None:
        self._colours = colours(dark)
        self._render()

    # -- presenter mode --------------------------------------------------------------------------
    def set_presenting(self, presenting: bool, scale: float = 1.0, keys_hint: str = "") -> None:
        """Keep only Back, Try it and Next, show the keys that turn pages, scale the text; undone with False."""
        self.contents_button.setVisible(not presenting)
        self.keys_hint.setText(keys_hint)
        self.keys_hint.setVisible(presenting)
        if presenting:
            self.needs_bar.hide()
        else:
            self._show_needs()
        self.contents.setVisible(not presenting and self.contents_button.isChecked())
        self._apply_fonts(scale if presenting else 1.0)

    def _apply_fonts(self, scale: float) -> None:
        base = self._base_point_size * scale
        for widget, factor, bold in ((self.heading, 1.35, True), (self.text, 1.1, False), (self.counter, 0.9, False),
                                     (self.keys_hint, 0.8, False)):
            chosen = QFont(self.font())
            chosen.setPointSizeF(base * factor)
            chosen.setBold(bold)
            widget.setFont(chosen)
        self.text.document().setDefaultFont(self.text.font())
