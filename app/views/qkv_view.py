"""Query, key, value for the chosen head, and the chain that turns them into attention:

    Q·Kᵀ  →  ÷ √d_head  →  causal mask  →  softmax

With grouped-query attention (Llama, Qwen2) several query heads share one key/value head; the header
says which. GPT-Neo's unscaled scores and local windows are said in the captions.

Each step is its own matrix with the real numbers; hovering a cell in any step follows that cell
through all four and writes its numbers underneath.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout

from core.teaching.analysis import AttentionSteps, attention_steps, symmetric_range

from .compare_scale import matrix_scale, mode_caption, mode_prefix
from .heatmap import HeatmapWidget
from .plot_style import PROBABILITY_MAP, SIGNED_MAP
from .view_base import SnapshotView, caption

HOVER_HINT = "Hover a cell of any step to follow it through the chain."
# A narrow panel (the right column of a 1280x720 screen) shows two matrices a row instead of three and
# four; below NARROWEST it scrolls. Each matrix keeps MATRIX_NARROWEST pixels: its title wraps, its cells stay.
ONE_ROW_WIDTH = 1000  # pixels: from this wide, Q K V in one row and the whole chain in another
NARROWEST = 400  # pixels: two matrices and an arrow between them still fit
MATRIX_NARROWEST = 170

# (key in AttentionSteps, title, colour map)
VECTORS = (
    ("query", "Q: what each token looks for", SIGNED_MAP),
    ("key", "K: what each token offers", SIGNED_MAP),
    ("value", "V: what each token passes on", SIGNED_MAP),
)
CHAIN = (
    ("dot_products", "Q·Kᵀ", SIGNED_MAP),
    ("scores", "÷ √d_head", SIGNED_MAP),
    ("masked_scores", "causal mask", SIGNED_MAP),
    ("pattern", "softmax", PROBABILITY_MAP),
)
# What each step means, in a sentence (tooltips; the caption under each matrix is shorter).
CHAIN_EXPLANATIONS = {
    "dot_products": "Every query dotted with every key: large when the two vectors point the same way.",
    "scores": "Divided by √d_head so that wider heads do not push the softmax to extremes; "
    "the picture is the same, only the numbers shrink (see the colour bar).",
    "masked_scores": "Later tokens (above the diagonal, hatched) are set to −∞: a token may not look ahead.",
    "pattern": "Softmax of each row: weights ≥ 0 that sum to 1. The −∞ cells become exactly 0.",
}


class QKVView(SnapshotView):
    TITLE = "Query, key, value"
    TOOLTIP = "The chosen head's queries, keys and values, and each step from Q·Kᵀ to the attention weights."
    OBJECT_NAME = "qkvView"

    def __init__(self, selection, parent=None) -> None:
        super().__init__(selection, parent)
        self.steps: AttentionSteps | None = None
        self.header = caption("", "qkvHeader", point_size=12)

        self.vectors: dict[str, HeatmapWidget] = {}
        for name, title, colormap_name in VECTORS:
            widget = HeatmapWidget(
                title=title, colormap_name=colormap_name, column_name="dimension", export_name=f"{name} vectors"
            )
            widget.setObjectName(f"qkv_{name}")
            widget.setMinimumSize(MATRIX_NARROWEST, 130)
            self.vectors[name] = widget
            if name != "query":
                widget.hide_row_labels()  # same rows as Q, right beside it

        self.chain: dict[str, HeatmapWidget] = {}
        self.chain_captions: dict[str, QLabel] = {}
        self.arrows = [_arrow() for _ in CHAIN[1:]]  # the arrow before each step after the first
        for index, (name, title, colormap_name) in enumerate(CHAIN):
            widget = HeatmapWidget(title=title, colormap_name=colormap_name, export_name=name.replace("_", " "))
            widget.setObjectName(f"qkv_{name}")
            widget.setMinimumWidth(MATRIX_NARROWEST)
            widget.setToolTip(CHAIN_EXPLANATIONS[name])
            widget.hovered.connect(self._on_cell_hovered)
            self.chain[name] = widget
            if index:
                widget.hide_row_labels()
            self.chain_captions[name] = caption()

        self.derivation = caption(HOVER_HINT, "qkvDerivation", point_size=12)
        self.vector_grid, self.chain_grid = QGridLayout(), QGridLayout()
        self.matrices_per_row = 0  # not laid out yet: _arrange does it for the panel's width
        inner = self.content(QSize(NARROWEST, 0))  # its height: what the arrangement needs
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addLayout(self.vector_grid, 1)
        layout.addLayout(self.chain_grid, 2)
        layout.addWidget(self.derivation)
        self._arrange(one_row=False)
        self.set_theme(False)

    # -- arrangement ----------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        """Q K V and the chain each in one row on a wide panel; two matrices a row on a narrow one."""
        self._arrange(one_row=event.size().width() >= ONE_ROW_WIDTH)
        super().resizeEvent(event)

    def _arrange(self, one_row: bool) -> None:
        per_row = len(CHAIN) if one_row else 2
        if per_row == self.matrices_per_row:
            return
        self.matrices_per_row = per_row
        for grid in (self.vector_grid, self.chain_grid):
            while grid.count():
                grid.takeAt(0)  # the widgets stay (children of the panel); only their places change
            for column in range(2 * len(CHAIN)):
                grid.setColumnStretch(column, 0)
        for index, (name, _, _) in enumerate(VECTORS):
            row, column = divmod(index, min(per_row, len(VECTORS)))
            self.vector_grid.addWidget(self.vectors[name], row, column)
            self.vector_grid.setColumnStretch(column, 1)
        # the chain reads left to right and on down: grid columns are arrow, matrix, arrow, matrix, ...
        for index, (name, _, _) in enumerate(CHAIN):
            row, place = divmod(index, per_row)
            self.chain_grid.addWidget(self.chain[name], 2 * row, 2 * place + 1)
            self.chain_grid.addWidget(self.chain_captions[name], 2 * row + 1, 2 * place + 1, Qt.AlignTop)
            self.chain_grid.setColumnStretch(2 * place + 1, 1)
            if index:
                self.chain_grid.addWidget(self.arrows[index - 1], 2 * row, 2 * place)

    # -- drawing ------------------------------------------------------------------------------------
    def _redraw(self) -> None:
        layer, head = self.selected()
        config = self.snapshot.config
        steps = self.steps = attention_steps(self.snapshot.trace, layer, head, scaled=config.scale_scores)
        labels = list(self.snapshot.token_labels)
        root = math.sqrt(steps.d_head)
        self.header.setText(mode_prefix(self.snapshot) + header_text(config, layer, head, steps.d_head))
        for name, _, _ in VECTORS:
            matrix = getattr(steps, name)
            self.vectors[name].set_matrix(matrix, symmetric_range(matrix), labels, None)

        scale = symmetric_range(steps.scores)  # masking keeps the colours of the step before it
        self.chain["dot_products"].set_matrix(steps.dot_products, symmetric_range(steps.dot_products), labels, labels)
        self.chain["scores"].set_matrix(steps.scores, scale, labels, labels)
        self.chain["masked_scores"].set_matrix(
            steps.masked_scores, scale, labels, labels, masked=steps.future, masked_text="−∞"
        )
        levels, colormap_name = matrix_scale(self.snapshot, steps.pattern, (0.0, 1.0), PROBABILITY_MAP)
        self.chain["pattern"].set_colormap(colormap_name)
        self.chain["pattern"].set_title(mode_caption(self.snapshot, "softmax"))
        self.chain["pattern"].set_matrix(steps.pattern, levels, labels, labels, masked=steps.future)
        window = config.window_of(layer)
        short = {
            "dot_products": "each query · each key",
            "scores": (
                f"÷ √{steps.d_head} = {root:.2f}: same picture, smaller numbers"
                if config.scale_scores
                else "not scaled: this model uses q·k as it is"
            ),
            "masked_scores": (
                "the future (hatched) set to −∞"
                if window is None
                else f"the future and keys over {window - 1} back (hatched) set to −∞"
            ),
            "pattern": "each row → weights that sum to 1",
        }
        for name, text in short.items():
            self.chain_captions[name].setText(text)
        self.derivation.setText(HOVER_HINT)

    def shown_matrices(self) -> dict[str, np.ndarray]:
        """Every matrix on screen by name (query … pattern); masked cells are NaN."""
        shown = {name: widget.matrix() for name, widget in self.vectors.items()}
        shown.update({name: widget.matrix() for name, widget in self.chain.items()})
        return shown

    # -- hover --------------------------------------------------------------------------------------
    def _on_cell_hovered(self, query: int, key: int) -> None:
        for widget in self.chain.values():
            widget.show_cursor(query, key)
        self.vectors["query"].show_cursor(query, -1)
        self.vectors["key"].show_cursor(key, -1)
        self.derivation.setText(HOVER_HINT if query < 0 else self.hover_text(query, key))

    def hover_text(self, query: int, key: int) -> str:
        labels = self.snapshot.token_labels
        cell = self.steps.cell(query, key)
        mask = "masked → −∞" if cell["masked"] else "kept"
        scaling = f"÷√{self.steps.d_head}" if self.snapshot.config.scale_scores else "unscaled"
        return (
            f"<b>‘{labels[query]}’</b> (query {query}) · <b>‘{labels[key]}’</b> (key {key}):&nbsp; "
            f"q·k = {cell['dot_product']:.3f} → {scaling} = {cell['scaled']:.3f} → {mask} → "
            f"softmax <b>{cell['probability']:.3f}</b>"
        )

    # -- looks --------------------------------------------------------------------------------------
    def _apply_theme(self) -> None:
        for widget in (*self.vectors.values(), *self.chain.values()):
            widget.set_theme(self.dark)


def header_text(config, layer: int, head: int, d_head: int) -> str:
    """What the chosen head computes; with grouped-query attention, which query heads share its key and value."""
    norm = "RMSNorm" if config.norm == "rmsnorm" else "LayerNorm"
    text = (
        f"<b>Layer {layer} · head {head}</b>: each token's vector (after {norm}) is multiplied by this "
        f"head's weights into a query, a key and a value of d_head = {d_head} numbers."
    )
    share = config.heads_per_kv_head
    if share > 1:
        group = head // share
        first, last = group * share, group * share + share - 1
        text += (
            f" <b>Grouped-query:</b> its key and value come from key/value head {group} of "
            f"{config.n_kv_heads}, shared by query heads {first}–{last}; only the queries differ between them."
        )
    return text


def _arrow() -> QLabel:
    arrow = QLabel("→")
    font = arrow.font()
    font.setPointSize(20)
    arrow.setFont(font)
    arrow.setAlignment(Qt.AlignCenter)
    return arrow
