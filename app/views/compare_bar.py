"""The Compare bar: a second (corrupted) prompt, what every panel shows of the two, and how they line up.

    Compare with [corrupted prompt]  (Clean | Corrupted | Difference)  Both prompts have 25 tokens…  [Pad] [Cut]

Clean shows the explorer's prompt, Corrupted the second prompt, Difference clean − corrupted position by
position in every panel. The switch is off while there is no second prompt; Pad and Cut are offered only
when the two prompts' token counts differ (app/state/comparison.py does the work; this bar only asks).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from app.state.comparison import CLEAN, CORRUPTED, CUT, DIFFERENCE, PAD, Comparison
from app.state.snapshot import Snapshot

from .text_line import TextLine

SWITCH = (
    (CLEAN, "Clean", "Every panel shows the explorer's prompt (the clean run)."),
    (CORRUPTED, "Corrupted", "Every panel shows the second prompt (the corrupted run)."),
    (DIFFERENCE, "Difference", "Every panel shows clean − corrupted, position by position (0 where they agree)."),
)
NO_SECOND_PROMPT = "Type a second prompt first: the switch compares the explorer's prompt with it."


class CompareBar(QWidget):
    comparison_changed = Signal(object)  # Comparison: the user changed the second prompt, the switch or pad/cut

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="compareBar")
        self.comparison = Comparison()
        self.field = QLineEdit(
            objectName="comparePrompt",
            clearButtonEnabled=True,
            placeholderText="a second, corrupted prompt: the same with one detail changed",
        )
        self.field.setToolTip("The corrupted prompt every panel can show beside the clean one (and patching uses).")
        self.field.setMinimumWidth(220)
        self.field.textChanged.connect(self._on_text_changed)
        self.switch = QButtonGroup(self)
        self.buttons: dict[str, QToolButton] = {}
        for mode, text, tooltip in SWITCH:
            button = QToolButton(objectName=f"compare{text}", text=text, checkable=True, autoRaise=False)
            button.setProperty("explanation", tooltip)
            self.switch.addButton(button)
            self.buttons[mode] = button
        self.buttons[CLEAN].setChecked(True)
        self.switch.buttonClicked.connect(self._on_switch_changed)
        self.note = TextLine(object_name="compareNote")
        self.note.setSizePolicy(
            QSizePolicy.Ignored, QSizePolicy.Fixed
        )  # never holds the toolbar wider: cut, with a tooltip
        self.pad_button = QPushButton("Pad", objectName="comparePad", visible=False)
        self.pad_button.setToolTip("Add spaces at the start of the shorter prompt so the ends line up.")
        self.cut_button = QPushButton("Cut", objectName="compareCut", visible=False)
        self.cut_button.setToolTip("Drop the first tokens of the longer prompt so the ends line up.")
        for button in (self.pad_button, self.cut_button):
            button.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.pad_button.clicked.connect(lambda: self._set(replace(self.comparison, fix=PAD)))
        self.cut_button.clicked.connect(lambda: self._set(replace(self.comparison, fix=CUT)))

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(QLabel("Compare with"))
        layout.addWidget(self.field, 3)
        for button in self.buttons.values():
            layout.addWidget(button)
        layout.addWidget(self.note, 4)
        layout.addWidget(self.pad_button)
        layout.addWidget(self.cut_button)
        self._enable_switch()

    # -- from outside -----------------------------------------------------------------------------
    def set_comparison(self, comparison: Comparison) -> None:
        """Show `comparison` (as remembered, or changed elsewhere: the patching panel's field) without echoing it."""
        self.comparison = comparison
        if self.field.text() != comparison.corrupted_prompt:
            self.field.blockSignals(True)
            self.field.setText(comparison.corrupted_prompt)
            self.field.blockSignals(False)
        self.buttons[comparison.mode].setChecked(True)
        self._enable_switch()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Say how the two prompts line up, and offer Pad and Cut when their token counts differ."""
        note = snapshot.comparison_note if self.comparison.corrupted_prompt else ""
        headline = snapshot.comparison_headline if note else ""
        asked_difference = self.comparison.mode == DIFFERENCE and snapshot.mode != DIFFERENCE
        self.note.setText(f"Showing the clean prompt. {headline}" if asked_difference and note else headline)
        self.note.setToolTip(f"Showing the clean prompt. {note}" if asked_difference and note else note)
        offer = bool(note) and snapshot.counts_differ
        self.pad_button.setVisible(offer)
        self.cut_button.setVisible(offer)

    # -- from the user ----------------------------------------------------------------------------
    def _on_text_changed(self, text: str) -> None:
        self._set(replace(self.comparison, corrupted_prompt=text, fix=""))  # pad/cut was for the old prompt

    def _on_switch_changed(self, button: QToolButton) -> None:
        mode = next(mode for mode, each in self.buttons.items() if each is button)
        self._set(replace(self.comparison, mode=mode))

    def _set(self, comparison: Comparison) -> None:
        if comparison == self.comparison:
            return
        self.comparison = comparison
        self._enable_switch()
        if not comparison.corrupted_prompt:
            self.note.setText("")
            self.pad_button.hide()
            self.cut_button.hide()
        self.comparison_changed.emit(comparison)

    def _enable_switch(self) -> None:
        """Without a second prompt only Clean makes sense: the switch is off, and its tooltip says why."""
        has_second = bool(self.comparison.corrupted_prompt)
        for button in self.buttons.values():
            button.setEnabled(has_second)
            button.setToolTip(button.property("explanation") if has_second else NO_SECOND_PROMPT)
