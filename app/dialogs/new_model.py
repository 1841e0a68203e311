"""New untrained model: pick a preset or sizes and a positional encoding; see the parameter count live."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from core.model.config import GPTConfig
from core.model.param_count import count_parameters, human_count

from .model_sizes import ModelSizeFields

TOKENIZER_CHOICES = {"current": "the current model's tokenizer", "lessons": "characters of the built-in lessons text"}


@dataclass(frozen=True)
class NewModelChoice:
    config: GPTConfig  # sizes and positional scheme (vocab_size filled in from the tokenizer)
    tokenizer: str  # "current" or "lessons": which tokenizer the new model reads with
    seed: int  # random seed for the initial weights


class NewModelDialog(QDialog):
    def __init__(self, vocab_sizes: dict[str, int], parent: QWidget | None = None) -> None:
        """vocab_sizes: tokenizer choice -> its vocabulary size (the parameter count depends on it)."""
        super().__init__(parent)
        self.setObjectName("newModelDialog")
        self.setWindowTitle("New untrained model")
        self._vocab_sizes = vocab_sizes

        self.model_sizes = ModelSizeFields(self)
        self.context_spin = QSpinBox(objectName="contextSpin", minimum=4, maximum=2048, value=64)
        self.context_spin.setToolTip("The longest prompt the model can read, in tokens.")
        self.tokenizer_combo = QComboBox(objectName="tokenizerCombo")
        for key, text in TOKENIZER_CHOICES.items():
            if key in vocab_sizes:
                self.tokenizer_combo.addItem(f"{text} ({vocab_sizes[key]} tokens)", key)
        self.seed_spin = QSpinBox(objectName="seedSpin", minimum=0, maximum=2**31 - 1)
        self.count_label = QLabel(objectName="parameterCount")
        self.count_label.setWordWrap(True)

        form = QFormLayout()
        self.model_sizes.add_rows(form)
        form.addRow("Context length (tokens)", self.context_spin)
        form.addRow("Tokenizer", self.tokenizer_combo)
        form.addRow("Random seed", self.seed_spin)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.count_label)
        layout.addWidget(self.buttons)

        self.model_sizes.changed.connect(self._update_count)
        self.context_spin.valueChanged.connect(self._update_count)
        self.tokenizer_combo.currentIndexChanged.connect(self._update_count)
        self._update_count()

    def config(self) -> GPTConfig:
        """The chosen config; ValueError (with the reason) if the sizes do not fit together."""
        return GPTConfig(
            vocab_size=self._vocab_sizes[self.tokenizer_combo.currentData()],
            context_length=self.context_spin.value(),
            pos_encoding=self.model_sizes.pos_encoding(),
            **self.model_sizes.sizes(),
        )

    def _update_count(self, *_ignored) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        try:
            count = count_parameters(self.config())
        except ValueError as error:
            self.count_label.setText(f"<span style='color:#c0392b'>{error}</span>")
            ok.setEnabled(False)
            return
        parts = ", ".join(f"{label} {human_count(n)}" for label, n in count.parts() if n)
        self.count_label.setText(f"<b>{count.total:,} parameters</b> ({parts})")
        ok.setEnabled(True)

    def choice(self) -> NewModelChoice:
        return NewModelChoice(self.config(), self.tokenizer_combo.currentData(), self.seed_spin.value())
