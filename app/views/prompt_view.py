"""Prompt and tokens: the text you type, and the token chips the model actually reads."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QScrollArea, QVBoxLayout, QWidget

from app.selection import Selection
from app.state.snapshot import Snapshot
from core.model.footprint import traced_length
from app.theme import colours
from app.views.text_line import TextLine
from app.views.token_strip import TokenStrip


SHOWN_PROMPT = {
    "corrupted": "The corrupted prompt's tokens (Compare) · ",
    "difference": "Clean/corrupted where the two prompts' tokens differ (Compare) · ",
}


class PromptView(QWidget):
    TITLE = "Prompt and tokens"
    TOOLTIP = "Your prompt, and below it the tokens the model reads: one chip per token, coloured by its id."
    OBJECT_NAME = "promptView"
    FOLLOWS_SELECTION = False

    prompt_changed = Signal(str)

    def __init__(self, selection: Selection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(self.OBJECT_NAME)
        self.selection = selection
        self.dark = False
        self._shown_text: str | None = None  # the prompt the chips belong to

        self.editor = QPlainTextEdit()
        self.editor.setObjectName("promptEdit")
        self.editor.setPlaceholderText("Type a prompt…")
        self.editor.setToolTip("Type here: every keystroke re-runs the model on the new prompt.")
        self.editor.setAccessibleName("Prompt")
        self._base_point_size = self.editor.font().pointSizeF() * 1.25
        self.editor.textChanged.connect(self._on_text_changed)

        self.summary = TextLine(object_name="tokenSummary", word_wrap=True)

        self.strip = TokenStrip()
        self.strip.setAccessibleName("Tokens")
        self.scroll = scroll = QScrollArea()
        scroll.setWidget(self.strip)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.set_zoom(1.0)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.editor)
        layout.addWidget(self.summary)
        layout.addWidget(scroll, stretch=1)

    # -- the text ------------------------------------------------------------------------------
    def focus(self) -> None:
        self.editor.setFocus()

    def undo(self) -> None:
        self.editor.undo()

    def redo(self) -> None:
        self.editor.redo()

    def forget_undo(self) -> None:
        """Undo starts from here: earlier prompts are no longer brought back."""
        self.editor.document().clearUndoRedoStacks()

    def text(self) -> str:
        return self.editor.toPlainText()

    def set_text(self, text: str) -> None:
        """Replace the prompt (emits prompt_changed like typing does) and keep the cursor at the end.

        One undo step, like typing: Ctrl+Z brings the previous prompt back."""
        if text == self.text():
            self._on_text_changed()  # asked again, announced as before: the worker reuses its trace
            return
        cursor = QTextCursor(self.editor.document())
        cursor.beginEditBlock()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)
        cursor.endEditBlock()
        self._cursor_to_end()

    def append_text(self, text: str, join_undo: bool = False) -> None:
        """Add `text` at the end; `join_undo` makes it part of the previous undo step (one Generate)."""
        cursor = QTextCursor(self.editor.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.joinPreviousEditBlock() if join_undo else cursor.beginEditBlock()
        cursor.insertText(text)
        cursor.endEditBlock()
        self._cursor_to_end()

    def _cursor_to_end(self) -> None:
        cursor = self.editor.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.editor.setTextCursor(cursor)

    def set_zoom(self, zoom: float) -> None:
        """The prompt's text and its token chips `zoom` times their normal size; the box stays three lines tall."""
        font = self.editor.font()
        font.setPointSizeF(self._base_point_size * zoom)
        self.editor.setFont(font)
        self.editor.setFixedHeight(self.editor.fontMetrics().lineSpacing() * 3 + 16)
        self.strip.set_zoom(zoom)

    def comfortable_height(self) -> int:
        """The height that shows the editor, the token summary and two rows of chips without scrolling."""
        margins = self.layout().contentsMargins()
        return (
            margins.top()
            + margins.bottom()
            + self.editor.height()
            + self.summary.sizeHint().height()
            + 2 * self.strip.row_height()
            + 2 * self.layout().spacing()
        )

    def _on_text_changed(self) -> None:
        text = self.text()
        if not text:
            self.strip.clear_tokens("The prompt is empty: type a few words and the tokens appear here.")
            self.summary.setText("")
        self.prompt_changed.emit(text)

    # -- the tokens ----------------------------------------------------------------------------
    def show_snapshot(self, snapshot: Snapshot) -> None:
        ids = snapshot.trace.ids[0].tolist()
        self.strip.set_tokens(snapshot.token_labels, ids, snapshot.token_bytes, snapshot.cut_labels)
        QTimer.singleShot(0, self._scroll_to_newest)  # once the scroll area knows the strip's new height
        context = traced_length(snapshot.config)  # the model's context, up to what one trace can hold
        if snapshot.truncated:
            total = snapshot.n_tokens + snapshot.truncated
            self.summary.setText(
                f"{total} tokens, but the explorer reads at most {context}: the first "
                f"{snapshot.truncated} are cut (struck through).",
                colour=QColor(colours(self.dark).warning),
                bold=True,
            )
        else:
            shown = SHOWN_PROMPT.get(snapshot.mode, "")  # the Compare switch's choice, when it is not Clean
            self.summary.setText(f"{shown}{snapshot.n_tokens} tokens · the explorer reads up to {context}")

    def _scroll_to_newest(self) -> None:
        """Keep the last token in sight, where typing happens."""
        bar = self.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())

    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        self.strip.set_dark(dark)
        self.summary.set_default_colour(QColor(colours(dark).muted))
