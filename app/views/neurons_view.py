"""Neurons: the MLP's hidden units of one layer, which fire on which tokens, and what each one writes.

The heatmap shows the layer's most active neurons (rows) at every prompt token (columns). Clicking a
neuron shades the prompt's tokens by its activation and lists the tokens it pushes up and down: its
output weights read through the final norm's gain and the output head, per unit of activation.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout

from core.explain.neurons import NeuronEffect, NeuronTable, neuron_activations, neuron_effect, top_neurons
from core.teaching.analysis import symmetric_range

from .explain_plots import LabelledBars
from .explain_view import ExplainView
from .compare_scale import mode_caption
from .heatmap import HeatmapWidget
from .plot_style import SIGNED_MAP, colormap
from .text_line import TextLine
from .token_strip import Chip, TokenStrip
from .view_base import caption

BACKGROUNDS = {False: (255, 255, 255), True: (30, 31, 34)}  # what the chip shades are mixed with
TOP_NEURONS = 20
TOP_TOKENS = 8


class NeuronsView(ExplainView):
    TITLE = "Neurons"
    TOOLTIP = "The MLP's most active neurons on this prompt; click one to see its tokens and what it writes."
    OBJECT_NAME = "neuronsView"

    def __init__(self, selection, controller, parent=None) -> None:
        super().__init__(selection, controller, parent)
        self.table: NeuronTable | None = None
        self.effect: NeuronEffect | None = None
        self.neuron: int | None = None  # the clicked neuron (kept while typing); None: the strongest
        self._effect_shown: tuple | None = None  # (model, layer, neuron) whose effect the bars show
        self._effects: dict[tuple, NeuronEffect] = {}  # (model, layer, neuron) -> effect: weights only, not the prompt
        self.layer_box = QSpinBox(objectName="neuronsLayer", prefix="layer ")
        self.layer_box.setToolTip("Which block's MLP to look inside.")
        self.layer_box.valueChanged.connect(self._on_layer_changed)
        self.heatmap = HeatmapWidget(
            title="Most active neurons at each token",
            colormap_name=SIGNED_MAP,
            row_name="neuron",
            export_name="neuron activations",
        )
        self.heatmap.setObjectName("neuronsHeatmap")
        self.heatmap.clicked.connect(self._on_neuron_clicked)
        self.tokens = ActivationStrip()
        self.tokens.setObjectName("neuronTokens")
        self.up = LabelledBars("neuronPushesUp", "logit added per unit")
        self.down = LabelledBars("neuronPushesDown", "logit added per unit")
        self.heading = TextLine(object_name="neuronHeading", word_wrap=True, keep_room=True)  # new text per keystroke

        top = QHBoxLayout()
        top.addWidget(QLabel("The MLP of"))
        top.addWidget(self.layer_box)
        top.addWidget(caption("its most active neurons; <b>click a row</b> to look at one."), 1)
        bars = QHBoxLayout()
        bars.addWidget(self.up)
        bars.addWidget(self.down)
        detail = QVBoxLayout()  # the clicked neuron, beside the heatmap
        detail.addWidget(self.heading)
        detail.addWidget(self.tokens)
        detail.addLayout(bars, 1)
        body = QHBoxLayout()
        body.addWidget(self.heatmap, 3)
        body.addLayout(detail, 2)
        layout = QVBoxLayout(self.content(QSize(500, 380)))
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        self.set_theme(False)

    def show_snapshot(self, snapshot) -> None:
        if snapshot.config == self.session.config:
            self.layer_box.blockSignals(True)
            if self.layer_box.maximum() != snapshot.config.n_layers - 1:  # a model with other layers
                self.layer_box.setMaximum(snapshot.config.n_layers - 1)
                self.neuron = None
            self.layer_box.blockSignals(False)
        super().show_snapshot(snapshot)

    def _on_layer_changed(self, _layer: int) -> None:
        self.neuron = None
        if self.snapshot is not None:
            with self.computing():
                self._redraw()

    # -- drawing ------------------------------------------------------------------------------------
    def _redraw(self) -> None:
        layer = self.layer_box.value()
        table = self.table = top_neurons(self.snapshot.trace, layer, TOP_NEURONS)
        self.heatmap.set_title(mode_caption(self.snapshot, "Most active neurons at each token"))
        rows = table.activations.T  # (k, T): a row per neuron
        self.heatmap.set_matrix(
            rows, symmetric_range(rows), [f"#{n}" for n in table.neurons], self.snapshot.token_labels
        )
        self._show_neuron(int(table.neurons[0]) if self.neuron is None else self.neuron)

    def _show_neuron(self, neuron: int) -> None:
        layer = self.layer_box.value()
        activations = neuron_activations(self.snapshot.trace, layer, neuron)  # (T,)
        effect = self.effect = self._effect(layer, neuron)
        self.heading.setText(
            f"Neuron {neuron} of layer {layer}: strongest on "
            f"‘{self.snapshot.token_labels[int(activations.argmax())]}’ "
            f"({activations.max():.2f}). The prompt shaded by its activation, and the tokens "
            f"it pushes up and down when it fires:"
        )
        self.tokens.set_activations(self.snapshot.token_labels, self.prompt_ids(), activations)
        if self._effect_shown != (self.model, layer, neuron):  # the weights' effect: a keystroke keeps it
            self._effect_shown = (self.model, layer, neuron)
            self.up.set_bars([self.vocab_label(i) for i in effect.up_ids], effect.up_values)
            self.down.set_bars([self.vocab_label(i) for i in effect.down_ids], effect.down_values)
            self.up.setToolTip(f"The tokens neuron {neuron} pushes up most when it fires.")
            self.down.setToolTip(f"The tokens neuron {neuron} pushes down most when it fires.")
        where = np.flatnonzero(self.table.neurons == neuron)
        self.heatmap.show_cursor(int(where[0]) if where.size else -1, -1)

    def _effect(self, layer: int, neuron: int) -> NeuronEffect:
        key = (self.model, layer, neuron)
        if key not in self._effects:
            if len(self._effects) > 256 or any(k[0] is not key[0] for k in self._effects):
                self._effects.clear()  # another model, or many neurons looked at: start afresh
            self._effects[key] = neuron_effect(self.model, layer, neuron, TOP_TOKENS)
        return self._effects[key]

    # -- mouse --------------------------------------------------------------------------------------
    def _on_neuron_clicked(self, row: int, _column: int) -> None:
        if self.table is None:
            return
        self.neuron = int(self.table.neurons[row])
        with self.computing():
            self._show_neuron(self.neuron)

    # -- looks --------------------------------------------------------------------------------------
    def _apply_theme(self) -> None:
        self.heatmap.set_theme(self.dark)
        self.tokens.set_dark(self.dark)
        self.up.set_theme(self.dark)
        self.down.set_theme(self.dark)
        self.up.getPlotItem().setTitle("pushes up")  # in the theme's colours
        self.down.getPlotItem().setTitle("pushes down")


class ActivationStrip(TokenStrip):
    """The prompt's tokens as chips, each shaded by one neuron's activation there (blue < 0 < red)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.values = np.zeros(0)
        self._shades = np.zeros((0, 3), dtype=int)  # (T, 3) each token's chip colour, RGB

    def set_activations(self, labels, ids, activations: np.ndarray) -> None:
        self.values = np.asarray(activations)
        low, high = symmetric_range(self.values)
        shades = colormap(SIGNED_MAP).map((self.values - low) / (high - low or 1.0), mode="byte")  # (T, 4)
        # half-way to the background, so that the chip's text (the theme's) stays readable on every shade
        background = np.array(BACKGROUNDS[self.dark])
        shades = (0.55 * shades[:, :3] + 0.45 * background).astype(int)  # (T, 3)
        before, self._shades = self._shades, shades
        self.set_tokens(labels, ids)  # repaints the chips that are new or moved
        self._update_reshaded(before)

    def _update_reshaded(self, before: np.ndarray) -> None:
        """Repaint the kept chips whose shade changed: typing keeps the earlier tokens' activations, and
        unless the new token is the strongest, their shades too."""
        kept = min(len(before), len(self._shades))
        reshaded = np.flatnonzero((before[:kept] != self._shades[:kept]).any(axis=1))  # (changed,) positions
        rects = {chip.position: rect for chip, rect in zip(self.chips(), self.chip_rects())}
        area = QRectF()
        for position in reshaded.tolist():
            if position in rects:
                area = area.united(rects[position])
        if not area.isEmpty():
            self.update(area.adjusted(-2, -2, 2, 2).toAlignedRect())

    def chip_fill(self, chip: Chip) -> QColor:
        return QColor(*self._shades[chip.position].tolist())
