"""The studio's message line: what just happened (in red when it went wrong), a Roll back offer after a
divergence, and a note while the explorer shows the studio's model instead of its own."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

ERROR_COLOUR = "#d93025"


class MessageLine(QWidget):
    roll_back_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel(objectName="studioMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.rollback_button = QPushButton(objectName="rollbackButton")
        self.rollback_button.hide()
        self.rollback_button.clicked.connect(self.roll_back_clicked)
        self.takeover_note = QLabel(objectName="studioTakeoverNote")
        self.takeover_note.setWordWrap(True)
        self.takeover_note.hide()
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message, 0, 0)
        layout.addWidget(self.rollback_button, 0, 1)
        layout.addWidget(self.takeover_note, 1, 0, 1, 2)
        layout.setColumnStretch(0, 1)

    def say(self, text: str, error: bool = False) -> None:
        self.message.setText(f"<span style='color:{ERROR_COLOUR}'>{text}</span>" if error else text)
        self.message.setVisible(bool(text))

    def offer_roll_back(self, to_step: int, lr_scale: float) -> None:
        self.rollback_button.setText(f"Roll back to step {to_step} with the learning rate ×{lr_scale}")
        self.rollback_button.show()

    @property
    def roll_back_offered(self) -> bool:
        return self.rollback_button.isVisible()

    def show_takeover(self, step: int) -> None:
        """The explorer shows the studio's model from `step` on, in place of the one it showed before."""
        self.takeover_note.setText(
            f"The explorer now shows the studio's model (step {step} onwards), in place "
            f"of the model it showed before. Open or reload a model to go back to one."
        )
        self.takeover_note.show()

    def clear_notes(self, takeover: bool = True) -> None:
        """No roll-back offer (training goes on), and no takeover note unless kept (a new run, or none)."""
        self.rollback_button.hide()
        if takeover:
            self.takeover_note.hide()
