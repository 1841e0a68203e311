"""Check your understanding: one card per question of a lesson's questions.md.

    view = QuestionsView(questions, answer)   # answer(question) -> live numbers, computed by the model

A `predict` card takes a typed guess first; only then can Reveal be pressed, which asks `answer` for
the live numbers and shows the filled `reveal:` sentence and whether the guess was right. A `choose`
card shows its options; picking one marks it right or wrong and shows the explanation.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from core.teaching.lesson_questions import Question, guess_matches
from core.teaching.lessons import LessonError, fill


class QuestionCard(QFrame):
    answered = Signal()

    def __init__(self, number: int, question: Question, answer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"question{number}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.question, self._answer = question, answer
        layout = QVBoxLayout(self)
        kind = "Predict, then reveal" if question.kind == "predict" else "Choose one"
        ask = QLabel(f"<b>{number}. {kind}:</b> {html.escape(question.text)}", wordWrap=True)
        layout.addWidget(ask)
        self.result = QLabel(objectName="questionResult", wordWrap=True)
        self.result.hide()
        if question.kind == "predict":
            self._build_predict(layout)
        else:
            self._build_choose(layout)
        layout.addWidget(self.result)

    def _build_predict(self, layout: QVBoxLayout) -> None:
        row = QHBoxLayout()
        self.guess = QLineEdit(objectName="questionGuess", placeholderText="Your guess first…")
        self.reveal_button = QPushButton("Reveal", objectName="questionReveal", enabled=False)
        self.reveal_button.setToolTip("Type your guess, then let the model answer.")
        self.guess.textChanged.connect(lambda text: self.reveal_button.setEnabled(bool(text.strip())))
        self.guess.returnPressed.connect(self.reveal)
        self.reveal_button.clicked.connect(self.reveal)
        row.addWidget(self.guess, stretch=1)
        row.addWidget(self.reveal_button)
        layout.addLayout(row)

    def _build_choose(self, layout: QVBoxLayout) -> None:
        self.options = QButtonGroup(self)
        for index, (text, _) in enumerate(self.question.options):
            # A radio button's own text never wraps: a wrapping label beside it keeps a narrow pane narrow.
            button = QRadioButton(objectName=f"questionOption{index}")
            label = QLabel(text, wordWrap=True, textFormat=Qt.TextFormat.PlainText)
            label.setBuddy(button)
            label.mousePressEvent = lambda _event, button=button: button.click()
            self.options.addButton(button, index)
            row = QHBoxLayout()
            row.addWidget(button)
            row.addWidget(label, stretch=1)
            layout.addLayout(row)
        self.options.idClicked.connect(self.choose)

    def reveal(self) -> None:
        """The model's answer, computed now, beside the student's guess."""
        guess = self.guess.text().strip()
        if not guess:
            return
        try:
            numbers = self._answer(self.question)
            sentence = fill(self.question.reveal, numbers)
        except (ValueError, LessonError) as error:  # a model that cannot answer this: say so, and what to do
            reason = str(error).split(". ")[0].rstrip(".")  # its first sentence: the rest is for programmers
            self._show(
                f"<i>The model on screen cannot answer this one: {html.escape(reason)}. "
                "Open the default model (Model menu), then reveal again.</i>"
            )
            return
        answer = numbers.get(self.question.answer)
        if sentence is None or answer is None:
            self._show("<i>The model on screen cannot answer this one (it lacks a number the answer needs).</i>")
            return
        verdict = "Right!" if guess_matches(guess, answer) else f"You guessed “{html.escape(guess)}”."
        extra = f" {html.escape(self.question.explain)}" if self.question.explain else ""
        self._show(f"<b>{verdict}</b> {html.escape(sentence)}{extra}")

    def choose(self, index: int) -> None:
        text, right = self.question.options[index]
        verdict = "Right." if right else "Not quite."
        self._show(f"<b>{verdict}</b> {html.escape(self.question.explain)}")

    def _show(self, inner: str) -> None:
        self.result.setText(inner)
        self.result.show()
        self.answered.emit()


class QuestionsView(QWidget):
    def __init__(
        self, questions: tuple[Question, ...], answer, introduction: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("lessonQuestions")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if introduction:
            one_line_per_paragraph = re.sub(r"(?<!\n)\n(?!\n)", " ", introduction)  # Markdown's soft line breaks
            layout.addWidget(
                QLabel(
                    one_line_per_paragraph,
                    wordWrap=True,
                    objectName="questionsIntro",
                    textFormat=Qt.TextFormat.PlainText,
                )
            )
        self.cards = [QuestionCard(number, question, answer) for number, question in enumerate(questions, start=1)]
        for card in self.cards:
            layout.addWidget(card)
        layout.addStretch(1)
