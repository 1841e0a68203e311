"""The layer and head every panel is looking at, shared so all panels agree."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class Selection(QObject):
    changed = Signal(int, int)  # (layer, head)

    def __init__(self, n_layers: int = 1, n_heads: int = 1) -> None:
        super().__init__()
        self._layer, self._head = 0, 0
        self.n_layers, self.n_heads = n_layers, n_heads

    @property
    def layer(self) -> int:
        return self._layer

    @property
    def head(self) -> int:
        return self._head

    def set_shape(self, n_layers: int, n_heads: int) -> None:
        """A new model: keep the choice where it still exists."""
        self.n_layers, self.n_heads = n_layers, n_heads
        self.select(min(self._layer, n_layers - 1), min(self._head, n_heads - 1), force=True)

    def select(self, layer: int, head: int, force: bool = False) -> None:
        layer = max(0, min(layer, self.n_layers - 1))
        head = max(0, min(head, self.n_heads - 1))
        if force or (layer, head) != (self._layer, self._head):
            self._layer, self._head = layer, head
            self.changed.emit(layer, head)
