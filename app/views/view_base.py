"""What the explorer's model panels share: the contract, the last snapshot, the shared selection.

    class AttentionView(SnapshotView):
        TITLE = "Attention"; TOOLTIP = "..."; OBJECT_NAME = "attentionView"
        def _redraw(self): ...              # draw self.snapshot at self.selection
        def _apply_theme(self): ...         # recolour for self.dark

The window calls show_snapshot(snapshot) for every new prompt and set_theme(dark) on a theme switch:
SnapshotView implements the Panel protocol (app/views/panel.py) for its subclasses.
A view never calls the model: it draws the snapshot, and redraws it when the selection changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QCoreApplication, QEvent, QSize, Qt
from PySide6.QtWidgets import QFrame, QGraphicsView, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.selection import Selection
from app.state.snapshot import Snapshot


class SnapshotView(QWidget):
    TITLE = ""
    TOOLTIP = ""
    OBJECT_NAME = ""
    FOLLOWS_SELECTION = True  # False for panels that show no particular layer/head

    def __init__(self, selection: Selection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(self.OBJECT_NAME)
        self.setAccessibleName(self.TITLE)
        self.setAccessibleDescription(self.TOOLTIP)  # the dock shows it as the title bar's tooltip
        self.selection = selection
        self.snapshot: Snapshot | None = None
        self.dark = False
        if self.FOLLOWS_SELECTION:
            selection.changed.connect(self._on_selection_changed)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._redraw()

    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        self._apply_theme()

    def _on_selection_changed(self, layer: int, head: int) -> None:
        if self.snapshot is not None:
            self._redraw()

    # -- for subclasses -----------------------------------------------------------------------------
    def content(self, smallest: QSize) -> QWidget:
        """The widget to lay the plots out on. Below `smallest` the panel scrolls instead of squeezing
        plots and captions on top of each other."""
        inner = QWidget()
        inner.setMinimumSize(smallest)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        return inner

    def _redraw(self) -> None:
        raise NotImplementedError

    def _apply_theme(self) -> None:
        raise NotImplementedError

    def selected(self) -> tuple[int, int]:
        """(layer, head) to show, kept inside the snapshot's model."""
        config = self.snapshot.config
        return min(self.selection.layer, config.n_layers - 1), min(self.selection.head, config.n_heads - 1)


def caption(text: str = "", object_name: str = "", point_size: int = 11) -> QLabel:
    """A wrapped sentence under a plot that says what it shows."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.RichText)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    if object_name:
        label.setObjectName(object_name)
    font = label.font()
    font.setPointSize(point_size)
    label.setFont(font)
    return label


def settle_plots(panels: Iterable[QWidget]) -> None:
    """Lay out and prepare every plot in `panels` now, so that each paints once per redraw.

    pyqtgraph applies a plot's new view range at the start of its paint; moving the items then asks
    for a second paint of the whole plot. Done before painting, the one paint sees it all.
    """
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)  # axes that grew: lay out now
    for panel in panels:
        for view in panel.findChildren(QGraphicsView):
            prepare = getattr(view.scene(), "prepareForPaint", None)  # a pyqtgraph scene
            if prepare is not None:
                prepare()
