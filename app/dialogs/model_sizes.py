"""How big a model, and how it knows positions: the fields shared by "New model" and the studio's set-up.

A preset fills the three sizes; editing a size by hand turns the preset into "custom sizes" unless the
new sizes match a preset exactly. Whoever owns the fields lays them out in its own form and listens to
`changed` to update its parameter count.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox, QWidget

from core.model.config import PRESETS

POSITIONAL_CHOICES = {
    "learned": "learned: a trained vector per position (GPT-2)",
    "sinusoidal": "sinusoidal: fixed sine and cosine waves (original Transformer)",
    "rope": "RoPE: rotate queries and keys by position (LLaMA)",
    "none": "none: no position information at all",
}
CUSTOM = "custom"  # the preset name meaning "the sizes typed in below"
SIZE_KEYS = ("n_layers", "n_heads", "d_model")


class ModelSizeFields(QObject):
    changed = Signal()  # any of the sizes, the preset or the positional scheme changed

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.preset_combo = QComboBox(parent, objectName="presetCombo")
        for name, sizes in PRESETS.items():
            self.preset_combo.addItem(
                f"{name} ({sizes['n_layers']} layers × {sizes['n_heads']} heads, d_model {sizes['d_model']})", name
            )
        self.preset_combo.addItem("custom sizes", CUSTOM)
        self.preset_combo.setToolTip("A ready-made size, or 'custom sizes' to type your own below.")
        self.layers_spin = QSpinBox(parent, objectName="layersSpin", minimum=1, maximum=48)
        self.layers_spin.setToolTip("Transformer blocks stacked one after another.")
        self.heads_spin = QSpinBox(parent, objectName="headsSpin", minimum=1, maximum=32)
        self.heads_spin.setToolTip("Attention heads per block; d_model must divide evenly between them.")
        self.width_spin = QSpinBox(parent, objectName="dModelSpin", minimum=4, maximum=2048, singleStep=8)
        self.width_spin.setToolTip("d_model: the length of every token's vector in the residual stream.")
        self.positional_combo = QComboBox(parent, objectName="positionalCombo")
        for key, text in POSITIONAL_CHOICES.items():
            self.positional_combo.addItem(text, key)
        self.positional_combo.setToolTip("How the model is told where each token sits in the prompt.")

        self.preset_combo.currentIndexChanged.connect(self._on_preset_changed)
        for spin in self._spins():
            spin.valueChanged.connect(self._on_size_edited)
        self.positional_combo.currentIndexChanged.connect(self.changed)
        self._on_preset_changed()

    def _spins(self) -> tuple[QSpinBox, QSpinBox, QSpinBox]:
        return self.layers_spin, self.heads_spin, self.width_spin

    # -- laying out --------------------------------------------------------------------------------
    def add_rows(self, form: QFormLayout, sizes_in_one_row: bool = False) -> None:
        form.addRow("Preset", self.preset_combo)
        labels = ("Layers", "Heads per layer", "d_model (vector width)")
        if sizes_in_one_row:
            row = QHBoxLayout()
            for label, spin in zip(("layers", "heads", "d_model"), self._spins()):
                row.addWidget(QLabel(label))
                row.addWidget(spin)
            form.addRow("Sizes", row)
        else:
            for label, spin in zip(labels, self._spins()):
                form.addRow(label, spin)
        form.addRow("Positional encoding", self.positional_combo)

    # -- reading and writing -----------------------------------------------------------------------
    def preset(self) -> str:
        return self.preset_combo.currentData()

    def sizes(self) -> dict[str, int]:
        """{"n_layers", "n_heads", "d_model"} as shown in the spin boxes."""
        return {key: spin.value() for key, spin in zip(SIZE_KEYS, self._spins())}

    def pos_encoding(self) -> str:
        return self.positional_combo.currentData()

    def set_choice(self, preset: str, sizes: dict[str, int], pos_encoding: str) -> None:
        """Show a preset (its own sizes) or, for "custom", the given sizes."""
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(preset))
        if preset == CUSTOM:
            self._show_sizes(sizes)
        self.positional_combo.setCurrentIndex(self.positional_combo.findData(pos_encoding))
        self.changed.emit()

    def set_enabled(self, enabled: bool) -> None:
        """Grey out every field (e.g. when the sizes come from a model instead)."""
        for widget in (self.preset_combo, *self._spins(), self.positional_combo):
            widget.setEnabled(enabled)

    # -- reactions ---------------------------------------------------------------------------------
    def _on_preset_changed(self, *_ignored) -> None:
        if self.preset() != CUSTOM:
            self._show_sizes(PRESETS[self.preset()])
        self.changed.emit()

    def _on_size_edited(self, *_ignored) -> None:
        """A size typed by hand: 'custom' unless it now matches a preset exactly."""
        sizes = self.sizes()
        match = next((name for name, preset in PRESETS.items() if _preset_sizes(preset) == sizes), CUSTOM)
        self.preset_combo.blockSignals(True)  # the sizes are already right; don't refill them
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(match))
        self.preset_combo.blockSignals(False)
        self.changed.emit()

    def _show_sizes(self, sizes: dict[str, int]) -> None:
        for key, spin in zip(SIZE_KEYS, self._spins()):
            spin.blockSignals(True)  # one `changed` for the whole preset, not one per spin box
            spin.setValue(sizes[key])
            spin.blockSignals(False)


def _preset_sizes(preset: dict) -> dict[str, int]:
    return {key: preset[key] for key in SIZE_KEYS}
