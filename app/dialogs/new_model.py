"""New untrained model: pick a preset or sizes and a positional encoding; see the parameter count live."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout,
                               QWidget)

from core.config import PRESETS, GPTConfig
from core.param_count import count_parameters, human_count

POSITIONAL_CHOICES = {
    "learned": "learned: a trained vector per position (GPT-2)",
    "sinusoidal": "sinusoidal: fixed sine and cosine waves (original Transformer)",
    "rope": "RoPE: rotate queries and keys by position (LLaMA)",
    "none": "none: no position information at all",
}
CUSTOM = "custom"
TOKENIZER_CHOICES = {"current": "the current model's tokenizer", "lessons": "characters of the built-in lessons text"}


@dataclass(frozen=True)
class NewModelChoice:
    config: GPTConfig   # sizes and positional scheme (vocab_size filled in from the tokenizer)
    tokenizer: str      # "current" or "lessons": which tokenizer the new model reads with
    seed: int           # random seed for the initial weights


class NewModelDialog(QDialog):
    def __init__(self, vocab_sizes: dict[str, int], parent: QWidget | None = None) -> None:
        """vocab_sizes: tokenizer choice -> its vocabulary size (the parameter count depends on it)."""
        super().__init__(parent)
        self.setObjectName("newModelDialog")
        self.setWindowTitle("New untrained model")
        self._vocab_sizes = vocab_sizes

        self.preset_combo = QComboBox(objectName="presetCombo")
        for name, sizes in PRESETS.items():
            self.preset_combo.addItem(f"{name} ({sizes['n_layers']} layers, {sizes['n_heads']} heads, "
                                      f"d_model {sizes['d_model']})", name)
        self.preset_combo.addItem("custom sizes", CUSTOM)
        self.layers_spin = QSpinBox(objectName="layersSpin", minimum=1, maximum=48)
        self.heads_spin = QSpinBox(objectName="headsSpin", minimum=1, maximum=32)
        self.width_spin = QSpinBox(objectName="dModelSpin", minimum=4, maximum=2048, singleStep=16)
        self.context_spin = QSpinBox(objectName="contextSpin", minimum=4, maximum=2048, value=64)
        self.positional_combo = QComboBox(objectName="positionalCombo")
        for key, text in POSITIONAL_CHOICES.items():
            self.positional_combo.addItem(text, key)
        self.tokenizer_combo = QComboBox(objectName="tokenizerCombo")
        for key, text in TOKENIZER_CHOICES.items():
            if key in vocab_sizes:
                self.tokenizer_combo.addItem(f"{text} ({vocab_sizes[key]} tokens)", key)
        self.seed_spin = QSpinBox(objectName="seedSpin", minimum=0, maximum=2**31 - 1)
        self.count_label = QLabel(objectName="parameterCount")
        self.count_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Preset", self.preset_combo)
        form.addRow("Layers", self.layers_spin)
        form.addRow("Heads per layer", self.heads_spin)
        form.addRow("d_model (vector width)", self.width_spin)
        form.addRow("Context length (tokens)", self.context_spin)
        form.addRow("Positional encoding", self.positional_combo)
        form.addRow("Tokenizer", self.tokenizer_combo)
        form.addRow("Random seed", self.seed_spin)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.count_label)
        layout.addWidget(self.buttons)

        self.preset_combo.currentIndexChanged.connect(self._on_preset_changed)
        for spin in (self.layers_spin, self.heads_spin, self.width_spin, self.context_spin):
            spin.valueChanged.connect(self._on_size_changed)
        self.positional_combo.currentIndexChanged.connect(self._update_count)
        self.tokenizer_combo.currentIndexChanged.connect(self._update_count)
        self._on_preset_changed()

    def _on_preset_changed(self, *_ignored) -> None:
        name = self.preset_combo.currentData()
        if name == CUSTOM:
            return
        sizes = PRESETS[name]
        for spin, key in ((self.layers_spin, "n_layers"), (self.heads_spin, "n_heads"), (self.width_spin, "d_model")):
            spin.blockSignals(True)
            spin.setValue(sizes[key])
            spin.blockSignals(False)
        self._update_count()

    def _on_size_changed(self, *_ignored) -> None:
        """Editing a size by hand makes the choice 'custom' unless it matches a preset exactly."""
        sizes = dict(n_layers=self.layers_spin.value(), n_heads=self.heads_spin.value(),
                     d_model=self.width_spin.value())
        match = next((name for name, preset in PRESETS.items() if preset == sizes), CUSTOM)
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(match))
        self.preset_combo.blockSignals(False)
        self._update_count()

    def config(self) -> GPTConfig:
        """The chosen config; ValueError (with the reason) if the sizes do not fit together."""
        return GPTConfig(vocab_size=self._vocab_sizes[self.tokenizer_combo.currentData()],
                         context_length=self.context_spin.value(), d_model=self.width_spin.value(),
                         n_layers=self.layers_spin.value(), n_heads=self.heads_spin.value(),
                         pos_encoding=self.positional_combo.currentData())

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
