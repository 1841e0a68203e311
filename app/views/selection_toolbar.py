"""The "Looking at layer L head H" toolbar: two spin boxes that follow and change the shared selection."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QSpinBox, QToolBar

from app.selection import Selection


class SelectionToolbar(QToolBar):
    def __init__(self, selection: Selection) -> None:
        super().__init__("Layer and head", objectName="selectionToolbar")
        self.setMovable(False)
        self.selection = selection
        self.layer_selector = QSpinBox(objectName="layerSelector", prefix="layer ")
        self.layer_selector.setToolTip("Which transformer block the attention and Q/K/V panels show (Alt+Up/Down).")
        self.layer_selector.setAccessibleName("Layer")
        self.head_selector = QSpinBox(objectName="headSelector", prefix="head ")
        self.head_selector.setToolTip("Which attention head of that block they show (Alt+Left/Right).")
        self.head_selector.setAccessibleName("Head")
        self.addWidget(QLabel(" Looking at  "))
        self.addWidget(self.layer_selector)
        self.addWidget(self.head_selector)
        self.layer_selector.valueChanged.connect(lambda layer: selection.select(layer, selection.head))
        self.head_selector.valueChanged.connect(lambda head: selection.select(selection.layer, head))
        selection.changed.connect(self._on_selection_changed)

    def selectors(self) -> tuple[QSpinBox, QSpinBox]:
        """(layer box, head box)."""
        return self.layer_selector, self.head_selector

    def show_shape(self, n_layers: int, n_heads: int) -> None:
        """A model of this shape is shown: the boxes offer its layers and heads."""
        self.layer_selector.setRange(0, n_layers - 1)
        self.head_selector.setRange(0, n_heads - 1)
        self._on_selection_changed(self.selection.layer, self.selection.head)

    def _on_selection_changed(self, layer: int, head: int) -> None:
        for selector, value in ((self.layer_selector, layer), (self.head_selector, head)):
            selector.blockSignals(True)
            selector.setValue(value)
            selector.blockSignals(False)
