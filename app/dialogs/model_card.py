"""About this model: the card core.model.model_card makes from the model in use, as a small dialog."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from core.model.model_card import ModelCard
from core.model.param_count import human_count


def card_html(card: ModelCard) -> str:
    """The card as an HTML table: the architecture's choices, then its parameters by part."""
    rows = [f"<tr><td><b>{escape(choice)}</b></td><td>{escape(what)}</td></tr>" for choice, what in card.rows]
    rows.append("<tr><td colspan=2><br><b>Parameters</b></td></tr>")
    rows += [f"<tr><td>{escape(part)}</td><td>{human_count(n)} ({n:,})</td></tr>" for part, n in card.parameters]
    heading = f"<h3>{escape(card.source)}</h3>" if card.source else ""
    return f"{heading}<table cellspacing=4>{''.join(rows)}</table>"


class ModelCardDialog(QDialog):
    def __init__(self, card: ModelCard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelCardDialog")
        self.setWindowTitle("About this model")
        self.card_label = QLabel(card_html(card), objectName="modelCard", wordWrap=True)
        self.card_label.setTextFormat(Qt.TextFormat.RichText)
        self.card_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.card_label)
        layout.addWidget(buttons)
        self.card_label.setMinimumWidth(620)
        # A wrapped rich-text label reports its height for the width it has: size the dialog from it.
        self.card_label.setMinimumHeight(self.card_label.heightForWidth(620))
