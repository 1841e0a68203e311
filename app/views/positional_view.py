"""Positional encodings: how the model knows where each token sits.

learned / sinusoidal: a vector per position is ADDED to the token's vector. Shown as a heatmap
(position × dimension), chosen dimensions as curves, the cosine similarity of every pair of
positions, and token + position = input as three aligned heatmaps.
rope: nothing is added; queries and keys are turned by an angle per position and pair of
dimensions. Shown as those angles (heatmap and curves) and the similarity of the rotations.
none: there is no position at all, and the panel says so.
"""

from __future__ import annotations

import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from core.teaching.analysis import (
    cosine_similarity_matrix,
    default_curve_dimensions,
    positional_table,
    rope_rotations,
    symmetric_range,
    wrapped_angles,
)

from .export import ExportTable, add_export_menu
from .heatmap import HeatmapWidget
from .plot_style import (
    CURVE_COLOURS,
    CYCLIC_MAP,
    SIGNED_MAP,
    colours,
    font,
    legend_html,
    style_graphics_view,
    style_plot_item,
)
from .view_base import SnapshotView, caption

MAX_CURVES = len(CURVE_COLOURS)

CAPTIONS = {
    "learned": (
        "<b>Learned positions</b> (like GPT-2): each position has its own trained vector, "
        "added to the token's vector. Click a column of the heatmap to plot that dimension."
    ),
    "sinusoidal": (
        "<b>Sinusoidal positions</b> (the original Transformer): dimension 2i holds sin(position·ω<sub>i</sub>), "
        "2i+1 the cosine, with ω<sub>i</sub> = 10000<sup>−2i/d_model</sup>: fast waves first, slow ones "
        "later. Click a column of the heatmap to plot that dimension."
    ),
    "rope": (
        "<b>RoPE</b> (rotary positions, as in LLaMA): nothing is added to the token. Inside attention each "
        "pair of query/key dimensions (2i, 2i+1) is turned by the angle θ = position·ω<sub>i</sub>, so q·k "
        "depends on how far apart two tokens are. Shown: those angles per position and pair."
    ),
    "none": (
        "<b>No positional encoding</b>: nothing tells this model where a token sits. Only the causal mask "
        "hints at order, so “dog bites man” and “man bites dog” look alike up to that."
    ),
    "off": (
        "<b>Positional encoding switched off</b> by the what-if panel: the model reads the prompt as if every "
        "token sat at position 0."
    ),
}


class PositionalView(SnapshotView):
    TITLE = "Positional encoding"
    TOOLTIP = "How the model knows where each token sits: the positional vectors (or RoPE angles) and what they add."
    OBJECT_NAME = "positionalView"
    FOLLOWS_SELECTION = False  # the same for every layer and head

    def __init__(self, selection, parent=None) -> None:
        super().__init__(selection, parent)
        self.curve_dims: list[int] = []
        self._width = 0  # columns of the position heatmap (dims, or pairs for RoPE)
        self._curves: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # dim -> (positions, values) drawn
        self._unit = "dimension"
        self._drawn: tuple = ()  # (scheme, dims, context) of the position plots
        self._drawn_positions = np.zeros(0)  # the rows they were drawn from

        self.caption = caption("", "positionalCaption", point_size=12)
        self.position_heatmap = HeatmapWidget(
            row_name="position", column_name="dimension", colormap_name=SIGNED_MAP, export_name="positional encoding"
        )
        self.position_heatmap.setObjectName("positionHeatmap")
        self.position_heatmap.clicked.connect(self._on_column_clicked)

        self.curve_plot = pg.PlotWidget()
        self.curve_plot.setObjectName("positionalCurves")
        self.curve_plot.setMinimumSize(260, 180)
        self.curve_plot.setLabel("bottom", "position")
        self.curve_plot.showGrid(x=True, y=True, alpha=0.25)
        self.curve_plot.getAxis("left").enableAutoSIPrefix(False)  # plain numbers, no '(x0.001)'
        self.legend = QLabel(objectName="positionalLegend", wordWrap=True)  # above the curves, never over them
        self._curve_items = [self.curve_plot.plot(pen=pg.mkPen(colour, width=2.5)) for colour in CURVE_COLOURS]
        self.prompt_end = pg.InfiniteLine(
            angle=90, movable=False, label="prompt ends", labelOpts=dict(position=0.03, anchors=[(0, 1), (0, 1)])
        )
        self.curve_plot.addItem(self.prompt_end)
        add_export_menu(self.curve_plot, "positional curves", self._export_curves)
        self.dims_edit = QLineEdit()
        self.dims_edit.setObjectName("positionalDims")
        self.dims_edit.setToolTip("Which dimensions to plot as curves, e.g. 0, 1, 8, 32 (at most 8).")
        self.dims_edit.editingFinished.connect(self._on_dims_edited)
        self.dims_label = QLabel("Dimensions to plot:")
        self.dims_label.setBuddy(self.dims_edit)  # hidden with the field (presenter mode, printed pictures)
        self.dims_message = QLabel()
        self.dims_message.setBuddy(self.dims_edit)

        self.similarity = HeatmapWidget(
            title="How alike are two positions? (cosine)",
            row_name="position",
            column_name="position",
            colormap_name=SIGNED_MAP,
            export_name="position similarity",
        )
        self.similarity.setObjectName("positionSimilarity")
        self.sum_heatmaps = HeatmapWidget(
            panel_titles=("token", "+ position", "= input"),
            row_name="token",
            column_name="dimension",
            colormap_name=SIGNED_MAP,
            export_name="token plus position",
        )
        self.sum_heatmaps.setObjectName("positionSum")

        self.curves_box = curves = QWidget()
        curve_column = QVBoxLayout(curves)
        curve_column.setContentsMargins(0, 0, 0, 0)
        picker = QHBoxLayout()
        picker.addWidget(self.dims_label)
        picker.addWidget(self.dims_edit, 1)
        picker.addWidget(self.dims_message)
        curve_column.addLayout(picker)
        curve_column.addWidget(
            caption(
                "Each curve is one number of the position vector, drawn across positions.", "dimsCaption", point_size=9
            )
        )
        curve_column.addWidget(self.legend)
        curve_column.addWidget(self.curve_plot, 1)

        self.grid = grid = QGridLayout(self.content(QSize(760, 600)))
        grid.setContentsMargins(4, 4, 4, 4)
        grid.addWidget(self.caption, 0, 0, 1, 2)
        grid.addWidget(self.position_heatmap, 1, 0)
        grid.addWidget(curves, 1, 1)
        grid.addWidget(self.similarity, 2, 0)
        grid.addWidget(self.sum_heatmaps, 2, 1)
        grid.setRowStretch(1, 1)
        grid.setRowStretch(2, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.set_theme(False)

    # -- which picture ------------------------------------------------------------------------------
    def scheme(self) -> str:
        """'learned', 'sinusoidal', 'rope', 'none', or 'off' when a what-if switched positions off."""
        if not self.snapshot.trace.intervention.positional and self.snapshot.config.pos_encoding != "none":
            return "off"
        return self.snapshot.config.pos_encoding

    def _redraw(self) -> None:
        scheme = self.scheme()
        self.caption.setText(CAPTIONS[scheme])
        has_positions = scheme not in ("none", "off")
        for widget in (self.position_heatmap, self.curves_box, self.similarity):
            widget.setVisible(has_positions)
        # Without positions only token (+ nothing) = input is left: give it the whole panel.
        self.grid.addWidget(self.sum_heatmaps, 2, 1 if has_positions else 0, 1, 1 if has_positions else 2)
        positions = self._position_rows()
        drawn = (scheme, tuple(self.curve_dims), self.snapshot.config.context_length)
        if has_positions and not (drawn == self._drawn and np.array_equal(positions, self._drawn_positions)):
            # Typing changes the tokens, rarely the positions: redraw these only when they change.
            self._draw_rope(positions) if scheme == "rope" else self._draw_added_positions(positions)
            self._drawn, self._drawn_positions = (scheme, tuple(self.curve_dims), drawn[2]), positions
        self._draw_sum(scheme)

    def _position_rows(self) -> np.ndarray:
        """(T, C) vectors added for the prompt's positions (RoPE angles (T, hs/2)); zeros when there are none."""
        trace, config = self.snapshot.trace, self.snapshot.config
        if "embed.pos" in trace:
            return trace.numpy("embed.pos")
        return np.zeros((self.snapshot.n_tokens, config.d_model), dtype=np.float32)

    def _draw_added_positions(self, positions: np.ndarray) -> None:
        """positions: (T, C) vectors added to the tokens."""
        numbers = [str(i) for i in range(len(positions))]
        self.position_heatmap.set_colormap(SIGNED_MAP)
        self.position_heatmap.set_column_name("dimension")
        self.position_heatmap.set_title("Position vectors (added to the tokens)")
        self.position_heatmap.set_matrix(positions, symmetric_range(positions), numbers, None)
        self.similarity.set_title("How alike are two positions? (cosine)")
        self.similarity.set_matrix(cosine_similarity_matrix(positions), (-1.0, 1.0), numbers, numbers)
        config = self.snapshot.config
        table = positional_table(
            config.pos_encoding,
            config.context_length,
            config.d_model,
            config.d_head,
            config.rope_theta,
            config.rotary_dims,
        )
        self._set_width(positions.shape[1])
        self._draw_curves(positions if table is None else table, "dimension", "value added")

    def _draw_rope(self, angles: np.ndarray) -> None:
        """angles: (T, hs/2) how far each pair of query/key dims is turned at each position."""
        numbers = [str(i) for i in range(len(angles))]
        self.position_heatmap.set_colormap(CYCLIC_MAP)
        self.position_heatmap.set_column_name("pair of dimensions (2i, 2i+1)")
        self.position_heatmap.set_title("Rotation angle θ mod 2π (radians) per position and pair")
        self.position_heatmap.set_matrix(wrapped_angles(angles), (0.0, 2 * np.pi), numbers, None)
        self.similarity.set_title("How alike are two positions' rotations? (cosine)")
        self.similarity.set_matrix(cosine_similarity_matrix(rope_rotations(angles)), (-1.0, 1.0), numbers, numbers)
        config = self.snapshot.config
        self._set_width(angles.shape[1])
        self._draw_curves(
            positional_table(
                "rope", config.context_length, config.d_model, config.d_head, config.rope_theta, config.rotary_dims
            ),
            "pair",
            "angle θ (radians)",
        )

    def _draw_sum(self, scheme: str) -> None:
        """token + position = input, three heatmaps on the same rows and the same colour scale."""
        trace = self.snapshot.trace
        tokens, total = trace.numpy("embed.tok"), trace.numpy("embed.sum")  # (T, C) each
        added = self._position_rows() if scheme in ("learned", "sinusoidal") else np.zeros_like(tokens)
        levels = symmetric_range(tokens, added, total)
        labels = list(self.snapshot.token_labels)
        middle = {"rope": "+ nothing (RoPE)", "none": "+ nothing", "off": "+ nothing (off)"}
        self.sum_heatmaps.set_title(middle.get(scheme, "+ position"), panel=1)
        for panel, matrix in enumerate((tokens, added, total)):
            self.sum_heatmaps.set_matrix(matrix, levels, labels, None, panel=panel)

    # -- curves -------------------------------------------------------------------------------------
    def _set_width(self, width: int) -> None:
        """A new model: start from a few well-spread dimensions."""
        if width != self._width:
            self._width = width
            self.curve_dims = default_curve_dimensions(width)
            self.dims_edit.setText(", ".join(map(str, self.curve_dims)))

    def _draw_curves(self, table: np.ndarray, unit: str, value_name: str) -> None:
        """One curve per chosen column of `table` (positions × columns), over every position it has."""
        self.curve_plot.setLabel("left", value_name)
        positions = np.arange(len(table))
        self._curves, self._unit = {}, unit
        entries = []
        for index, item in enumerate(self._curve_items):
            if index >= len(self.curve_dims):
                item.hide()
                continue
            dim = self.curve_dims[index]
            values = np.asarray(table[:, dim])
            self._curves[dim] = (positions, values)
            item.setData(positions, values)
            item.show()
            name = f"pair {dim} (dims {2 * dim}, {2 * dim + 1})" if unit == "pair" else f"dim {dim}"
            entries.append(("━", CURVE_COLOURS[index], name))
        self.legend.setText(legend_html(entries))
        self.prompt_end.setPos(self.snapshot.n_tokens - 1)
        self.prompt_end.setVisible(len(table) > self.snapshot.n_tokens)
        self.curve_plot.setXRange(0, max(len(table) - 1, 1), padding=0.02)

    def shown_curves(self) -> dict[int, np.ndarray]:
        """{dimension (or RoPE pair): the y values drawn}."""
        return {dim: values for dim, (_, values) in self._curves.items()}

    def set_curve_dims(self, dims: list[int]) -> None:
        self.curve_dims = list(dict.fromkeys(dims))[:MAX_CURVES]
        self.dims_edit.setText(", ".join(map(str, self.curve_dims)))
        if self.snapshot is not None:
            self._redraw()

    def _on_dims_edited(self) -> None:
        text = self.dims_edit.text()
        numbers = [int(n) for n in re.findall(r"\d+", text)]
        wrong = [n for n in numbers if n >= self._width]
        if wrong or not numbers:
            self.dims_message.setText(f"Choose numbers from 0 to {self._width - 1}." if self._width else "")
            return
        self.dims_message.setText("")
        if numbers != self.curve_dims:
            self.set_curve_dims(numbers)

    def _on_column_clicked(self, row: int, col: int) -> None:
        dims = [d for d in self.curve_dims if d != col] if col in self.curve_dims else self.curve_dims + [col]
        self.set_curve_dims(dims[-MAX_CURVES:])

    # -- looks and export ---------------------------------------------------------------------------
    def _apply_theme(self) -> None:
        for widget in (self.position_heatmap, self.similarity, self.sum_heatmaps):
            widget.set_theme(self.dark)
        style_graphics_view(self.curve_plot, self.dark)
        style_plot_item(self.curve_plot.getPlotItem(), self.dark)
        palette = colours(self.dark)
        self.prompt_end.setPen(pg.mkPen(palette["muted"], style=Qt.DashLine))
        self.prompt_end.label.setColor(palette["text"])
        self.prompt_end.label.setFont(font(10))

    def _export_curves(self) -> ExportTable:
        if not self._curves:
            return ExportTable(np.zeros((0, 0)))
        dims = list(self._curves)
        positions = next(iter(self._curves.values()))[0]
        values = np.stack([self._curves[d][1] for d in dims], axis=1)  # (positions, curves)
        return ExportTable(
            values,
            row_labels=[str(p) for p in positions],
            column_labels=[f"{self._unit} {d}" for d in dims],
            corner="position",
        )
