"""The "model modified" badge: says in a few words which what-if is changing every panel, with a button
that switches them all off. It sits in the status bar and above the next-token bars, so nobody reads a
prediction from a model with heads switched off without being told.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.theme import colours
from core.model.trace import Intervention

RESET_SHORTCUT = "Ctrl+Shift+R"


def describe_intervention(intervention: Intervention) -> str:
    """What a what-if changes, in words: "2 heads off (mean) · positions off"; "" for the intact model."""
    parts = []
    heads = len(intervention.ablate_heads)
    if heads:
        mean = " (mean)" if intervention.ablation == "mean" else ""
        parts.append(f"{heads} head{'s' if heads != 1 else ''} off{mean}")
    if not intervention.positional:
        parts.append("positions off")
    patterns = len(intervention.patterns)
    if patterns:
        parts.append(f"{patterns} attention pattern{'s' if patterns != 1 else ''} replaced")
    return " · ".join(parts)


class ModifiedBadge(QWidget):
    """Hidden while the model is intact; otherwise "Model modified: …" and a "Reset everything" button."""

    reset_requested = Signal()

    def __init__(self, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.label = QLabel(objectName=f"{object_name}Text")
        self.label.setToolTip("A what-if is active: every panel shows the model with these parts switched off.")
        self.reset_button = QPushButton("Reset everything", objectName=f"{object_name}Reset")
        self.reset_button.setToolTip(f"Switch every head and the positional encoding back on ({RESET_SHORTCUT}).")
        self.reset_button.clicked.connect(self.reset_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, stretch=1)
        layout.addWidget(self.reset_button)
        self.dark = False
        self.set_theme(False)
        self.hide()

    def show_intervention(self, intervention: Intervention) -> None:
        changed = describe_intervention(intervention)
        self.label.setText(f"⚠ Model modified: {changed}")
        self.setVisible(bool(changed))

    def text(self) -> str:
        """What the badge says ("" while hidden)."""
        return self.label.text() if not self.isHidden() else ""

    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        warning = colours(dark).warning
        self.label.setStyleSheet(f"color: {warning}; font-weight: bold;")
