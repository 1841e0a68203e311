"""The attention panel: which earlier tokens each token reads from, for the chosen layer and head.

Three pictures of the same numbers: the query × key heatmap (hover a cell for its derivation),
lines from each token to what it reads (BertViz-style), and every head at once as small multiples.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from core.teaching.analysis import AttentionSteps, attention_steps

from .attention_arcs import AttentionArcs
from .attention_grid import AttentionGrid
from .compare_scale import matrix_scale, mode_caption
from .heatmap import HeatmapWidget
from .plot_style import PROBABILITY_MAP
from .view_base import SnapshotView, caption

DERIVATION_LINES = 3  # room kept under the heatmap for the hover derivation; it grows if a text needs more
HOVER_HINT = "Hover a cell to see how its weight is computed from the query and the key."


class AttentionView(SnapshotView):
    TITLE = "Attention"
    TOOLTIP = "How much each token (row) reads from each earlier token (column) in the chosen layer and head."
    OBJECT_NAME = "attentionView"

    def __init__(self, selection, parent=None) -> None:
        super().__init__(selection, parent)
        self.steps: AttentionSteps | None = None

        self.heatmap = HeatmapWidget(
            row_name="query (reads)",
            column_name="key (is read)",
            colormap_name=PROBABILITY_MAP,
            export_name="attention pattern",
        )
        self.heatmap.setObjectName("attentionHeatmap")
        self.heatmap.hovered.connect(self._on_cell_hovered)
        self.derivation = caption(HOVER_HINT, "attentionDerivation", point_size=11)
        self.derivation.setMinimumHeight(DERIVATION_LINES * self.derivation.fontMetrics().lineSpacing())

        self.arcs = AttentionArcs()
        self.arcs.setObjectName("attentionArcs")
        self.grid = AttentionGrid()
        self.grid.setObjectName("attentionGrid")
        self.grid.head_clicked.connect(self.selection.select)

        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(_titled(self.heatmap, self.derivation))
        splitter.addWidget(
            _titled(
                caption(
                    "<b>Lines</b>: each token (left) reads from earlier tokens (right); darker = more. Hover a token."
                ),
                self.arcs,
            )
        )
        splitter.addWidget(
            _titled(caption("<b>Every head</b>: rows are layers, columns heads. Click one to open it."), self.grid)
        )
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 3)
        layout = QVBoxLayout(self.content(QSize(720, 380)))
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self.set_theme(False)

    # -- drawing ------------------------------------------------------------------------------------
    def _redraw(self) -> None:
        layer, head = self._draw_selected_head()
        snapshot = self.snapshot
        self.grid.signed = snapshot.is_difference  # clean − corrupted: blue below 0, red above
        self.grid.show_trace(snapshot.trace, snapshot.config.n_layers, (layer, head), snapshot.token_labels)

    def _on_selection_changed(self, layer: int, head: int) -> None:
        if self.snapshot is not None:  # the grid's thumbnails stay; only the chosen head changes
            self.grid.set_selected(*self._draw_selected_head())

    def _draw_selected_head(self) -> tuple[int, int]:
        layer, head = self.selected()
        snapshot = self.snapshot
        self.steps = attention_steps(snapshot.trace, layer, head)
        labels = list(snapshot.token_labels)
        levels, colormap_name = matrix_scale(snapshot, self.steps.pattern, (0.0, 1.0), PROBABILITY_MAP)
        self.heatmap.set_colormap(colormap_name)
        self.heatmap.set_title(mode_caption(snapshot, f"Layer {layer} · head {head}: attention weights"))
        self.heatmap.set_matrix(self.steps.pattern, levels, labels, labels, masked=self.steps.future)
        self.arcs.set_pattern(
            changed_most(self.steps.pattern) if snapshot.is_difference else self.steps.pattern, labels
        )
        self.derivation.setText(HOVER_HINT)
        return layer, head

    def shown_pattern(self) -> np.ndarray:
        """The (T, T) matrix on screen; masked (future) cells, drawn hatched, count as 0."""
        return np.nan_to_num(self.heatmap.matrix(), nan=0.0)

    # -- hover --------------------------------------------------------------------------------------
    def _on_cell_hovered(self, query: int, key: int) -> None:
        self.derivation.setText(HOVER_HINT if query < 0 else self.hover_text(query, key))
        self._make_room_for_derivation()

    def _make_room_for_derivation(self) -> None:
        """Whole lines only: the text's box grows to the lines it wraps into (and does not shrink back,
        so moving the mouse does not make the heatmap jump)."""
        needed = self.derivation.heightForWidth(self.derivation.width())
        if needed > self.derivation.minimumHeight():
            self.derivation.setMinimumHeight(needed)

    def hover_text(self, query: int, key: int) -> str:
        """How the weight of cell (query, key) was computed, with the real numbers."""
        labels = self.snapshot.token_labels
        cell = self.steps.cell(query, key)
        where = f"<b>‘{labels[query]}’</b> (token {query}) → <b>‘{labels[key]}’</b> (token {key}):&nbsp; "
        if cell["masked"]:
            return where + (
                "masked — a token may not look at a later one, so its score is set to −∞ and after softmax it gets 0."
            )
        root = math.sqrt(self.steps.d_head)
        return where + (
            f"q<sub>{query}</sub>·k<sub>{key}</sub> = {cell['dot_product']:.3f},&nbsp; "
            f"÷√{self.steps.d_head} (={root:.2f}) = {cell['scaled']:.3f},&nbsp; "
            f"after softmax <b>{cell['probability']:.3f}</b>"
        )

    # -- looks --------------------------------------------------------------------------------------
    def _apply_theme(self) -> None:
        self.heatmap.set_theme(self.dark)
        self.arcs.set_theme(self.dark)
        self.grid.set_theme(self.dark)


def changed_most(difference: np.ndarray) -> np.ndarray:
    """A difference of weights as lines: darkest where a weight changed most, whichever way (size only)."""
    size = np.abs(np.nan_to_num(difference, nan=0.0, neginf=0.0))
    return size / (size.max() or 1.0)


def _titled(first: QWidget, second: QWidget) -> QWidget:
    """Two widgets stacked in one column of the splitter."""
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    layout.addWidget(first, 1 if not hasattr(first, "setWordWrap") else 0)
    layout.addWidget(second, 1 if not hasattr(second, "setWordWrap") else 0)
    return column
