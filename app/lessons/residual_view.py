"""The residual stream of the last token: how long it is after each block adds attention and the MLP,
and its numbers before and after the final LayerNorm.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.selection import Selection
from app.state.snapshot import Snapshot
from app.views.export import ExportTable, add_export_menu
from app.views.plot_style import CURVE_COLOURS, legend_html, style_graphics_view, style_plot_item
from core.teaching.lesson_numbers import ResidualStream, residual_stream

STREAM_COLOUR, ATTENTION_COLOUR, MLP_COLOUR = CURVE_COLOURS[0], CURVE_COLOURS[1], CURVE_COLOURS[2]


class ResidualView(QWidget):
    TITLE = "Residual stream"
    TOOLTIP = (
        "The last token's vector as it passes the blocks: its length after each addition, and its numbers "
        "before and after the final LayerNorm."
    )
    OBJECT_NAME = "residualView"
    FOLLOWS_SELECTION = True

    def __init__(self, selection: Selection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(self.OBJECT_NAME)
        self.selection = selection
        self.stream: ResidualStream | None = None
        self._token = ""
        self.dark = False
        self.heading = QLabel(objectName="residualHeading", wordWrap=True)
        self.legend = QLabel(objectName="residualLegend", wordWrap=True)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setObjectName("residualPlots")
        self.growth = self.plots.addPlot(row=0, col=0, title="length of the stream, and of what each part adds")
        self.norm = self.plots.addPlot(row=1, col=0, title="final LayerNorm: the vector before and after")
        for plot in (self.growth, self.norm):
            plot.setMouseEnabled(False, False)
            plot.hideButtons()
        self.norm.setLabel("bottom", "dimension")
        self.bars = {  # what each stage adds, by kind
            kind: pg.BarGraphItem(x=[], height=[], width=0.6, brush=colour, name=name)
            for kind, colour, name in (
                ("input", "#999999", "token + position"),
                ("attn", ATTENTION_COLOUR, "attention adds"),
                ("MLP", MLP_COLOUR, "MLP adds"),
            )
        }
        for bar in self.bars.values():
            self.growth.addItem(bar)
        self.length_curve = self.growth.plot([], [], name="stream length", symbol="o")
        self.before_curve = self.norm.plot([], [], name="before", stepMode="center")
        self.after_curve = self.norm.plot([], [], name="after", stepMode="center")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.legend)
        layout.addWidget(self.plots, stretch=1)
        add_export_menu(self.plots, "residual stream", self._export_table)
        selection.changed.connect(self._on_selection_changed)
        self.set_theme(False)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self.stream = residual_stream(snapshot.trace, snapshot.config.n_layers)
        self._token = snapshot.token_labels[-1]
        self._redraw()

    def _on_selection_changed(self, layer: int, head: int) -> None:
        self._redraw()

    def _redraw(self) -> None:
        if self.stream is None:
            return
        stream = self.stream
        x = np.arange(len(stream.stages))
        chosen = {1 + 2 * self.selection.layer, 2 + 2 * self.selection.layer}  # the chosen block's two stages
        outline = pg.mkPen("#ffffff" if self.dark else "#000000", width=2)
        for kind, bar in self.bars.items():
            picked = [i for i, stage in enumerate(stream.stages) if stage.split("+")[-1] == kind]
            bar.setOpts(
                x=x[picked],
                height=stream.added[picked],
                pens=[outline if i in chosen else pg.mkPen(None) for i in picked],
            )
        self.length_curve.setData(x, stream.lengths)
        self.growth.getAxis("bottom").setTicks([list(zip(x, stream.stages))])
        dims = np.arange(len(stream.before_norm) + 1) - 0.5  # bin edges for step curves
        self.before_curve.setData(dims, stream.before_norm)
        self.after_curve.setData(dims, stream.after_norm)
        self.heading.setText(
            f"Following the last token “{self._token}”. Bars: what each part adds; line: the "
            f"stream's length after it. Block {self.selection.layer} is outlined."
        )

    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        style_graphics_view(self.plots, dark)
        for plot in (self.growth, self.norm):
            style_plot_item(plot, dark)
        self.length_curve.setPen(pg.mkPen(STREAM_COLOUR, width=2))
        self.length_curve.setSymbolBrush(STREAM_COLOUR)
        self.before_curve.setPen(pg.mkPen(CURVE_COLOURS[4], width=1.5))
        self.after_curve.setPen(pg.mkPen(CURVE_COLOURS[0], width=1.5))
        self.legend.setText(
            legend_html(
                [  # above the plots: a legend inside them hid the curves' ends
                    ("■", "#999999", "token + position"),
                    ("■", ATTENTION_COLOUR, "attention adds"),
                    ("■", MLP_COLOUR, "MLP adds"),
                    ("●", STREAM_COLOUR, "stream length"),
                    ("━", CURVE_COLOURS[4], "before LayerNorm"),
                    ("━", CURVE_COLOURS[0], "after"),
                ]
            )
        )
        self._redraw()

    def _export_table(self) -> ExportTable:
        if self.stream is None:
            return ExportTable(np.zeros((0, 2)))
        values = np.stack([self.stream.lengths, self.stream.added], axis=1)  # (stages, 2)
        return ExportTable(
            values, row_labels=self.stream.stages, column_labels=["stream length", "added length"], corner="stage"
        )
