"""What if: switch off attention heads or positional encoding, and see the prediction change.

Ticking a head removes its output (zero ablation) or flattens it to its average over positions (mean
ablation); the controller re-runs the model with that intervention and every panel redraws from the
changed trace. This panel shows how the next-token probabilities moved compared with the intact model.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.selection import Selection
from app.state.snapshot import Snapshot
from app.theme import colours
from app.views.plot_style import style_graphics_view, style_plot_item
from app.views.view_base import caption
from app.views.export import ExportTable, add_export_menu
from app.views.output_view import last_position, top_ids
from app.views.bar_plot import bar_plot, keep_room_for_rows, rows_that_fit, set_row_labels
from core.model.trace import Intervention

TOP_CHANGES = 8  # tokens whose probability moved most, when the panel is tall enough to label them all
FEWEST_ROWS = 3  # a short panel shows only the biggest changes, each with a readable label
GRID_MOST_HEIGHT = 170  # pixels: a model with more layers than fit scrolls its grid of heads
GRID_MOST_ROWS = 7  # in a larger font (presenter mode) the grid may grow to this many rows instead
CHANGE_TITLE = "change, after − before (percentage points)"  # short: it must fit beside wide row labels
TITLE_MARGIN = 12  # pixels: the plot's own margins either side of the change axis' title
ABLATIONS = {"zero": "zero (remove the head's output)", "mean": "mean (its average over positions)"}


class WhatIfView(QWidget):
    TITLE = "What if"
    TOOLTIP = "Switch off attention heads or the positional encoding and see how the next-token probabilities change."
    OBJECT_NAME = "whatIfView"
    FOLLOWS_SELECTION = False

    intervention_changed = Signal(object)  # Intervention

    def __init__(self, selection: Selection, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(self.OBJECT_NAME)
        self.selection = selection
        self.dark = False
        self._shape: tuple[int, int] = (0, 0)
        self.head_boxes: dict[tuple[int, int], QCheckBox] = {}
        self._changes = (np.zeros(0, dtype=int), np.zeros(0), np.zeros(0))  # (ids, before, after)
        self._probabilities: tuple[np.ndarray, np.ndarray] | None = None  # (before, after) shown; None:
        #                                                                      the "nothing switched off" picture
        self._labels: tuple[str, ...] = ()

        intro = QLabel("Tick heads to switch them off; every panel then shows the model without them.")
        intro.setWordWrap(True)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setSpacing(2)
        self.grid_scroll = scroll = QScrollArea()
        scroll.setWidget(self.grid_host)
        scroll.setWidgetResizable(True)
        scroll.setMaximumHeight(GRID_MOST_HEIGHT)

        self.ablation_combo = QComboBox(objectName="ablationCombo")
        for key, text in ABLATIONS.items():
            self.ablation_combo.addItem(text, key)
        self.ablation_combo.setToolTip("Zero: the head adds nothing. Mean: it adds the same vector at every position.")
        self.positional_off = QCheckBox("Positional encoding off", objectName="positionalOffCheck")
        self.positional_off.setToolTip("Remove all position information: the model then sees a bag of tokens.")
        self.reset_button = QPushButton("Reset", objectName="whatIfResetButton")
        self.reset_button.setToolTip("Switch every head and the positional encoding back on.")
        self.ablation_combo.currentIndexChanged.connect(self._on_choice_changed)
        self.positional_off.toggled.connect(self._on_choice_changed)
        self.reset_button.clicked.connect(self.reset)

        self.summary = QLabel(objectName="whatIfSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self._build_plot()

        options = QHBoxLayout()
        options.addWidget(QLabel("Ablation"))
        options.addWidget(self.ablation_combo)
        options.addStretch(1)
        options.addWidget(self.reset_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(intro)
        layout.addWidget(scroll)
        layout.addLayout(options)
        layout.addWidget(
            caption(
                "Zero: a switched-off head adds nothing. Mean: it adds its average output, the same at every position.",
                "ablationCaption",
                point_size=9,
            )
        )
        layout.addWidget(self.positional_off)
        layout.addWidget(self.summary)
        layout.addWidget(self.plot, stretch=1)
        self._show_no_changes()
        self._rebuild_grid(selection.n_layers, selection.n_heads)  # the panel has its final size before it is drawn

    def _build_plot(self) -> None:
        self.plot = bar_plot("whatIfPlot", CHANGE_TITLE)
        self.change_bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        self.plot.addItem(self.change_bars)
        self.plot.addItem(pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#888888", width=1)))
        self.empty_text = pg.TextItem("Tick a head above to see which predictions it supports.", anchor=(0.5, 0.5))
        self.plot.addItem(self.empty_text)
        add_export_menu(self.plot, "what-if change in next-token probabilities", self._export_table)
        self.plot.getPlotItem().getViewBox().sigResized.connect(self._on_plot_resized)
        # the row labels' column widens once it has laid out new labels: the title's room follows it
        self.plot.getPlotItem().getAxis("left").geometryChanged.connect(self.keep_room_for_title)

    def rows_that_fit(self) -> int:
        """As many rows as the plot has room to label (up to TOP_CHANGES)."""
        return rows_that_fit(self.plot, FEWEST_ROWS, TOP_CHANGES)

    def _on_plot_resized(self, *_ignored) -> None:
        if self._probabilities is not None and len(self._changes[0]) != self.rows_that_fit():
            self._show_changes(*self._probabilities)

    # -- the heads grid ----------------------------------------------------------------------
    def _rebuild_grid(self, n_layers: int, n_heads: int) -> None:
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.head_boxes = {}
        for head in range(n_heads):
            self.grid.addWidget(QLabel(f"H{head}", alignment=Qt.AlignmentFlag.AlignCenter), 0, head + 1)
        for layer in range(n_layers):
            self.grid.addWidget(QLabel(f"layer {layer}"), layer + 1, 0)
            for head in range(n_heads):
                box = QCheckBox(objectName=f"ablate_L{layer}_H{head}")
                box.setToolTip(f"Switch off layer {layer}, head {head}")
                box.toggled.connect(self._on_choice_changed)
                self.grid.addWidget(box, layer + 1, head + 1, alignment=Qt.AlignmentFlag.AlignCenter)
                self.head_boxes[(layer, head)] = box
        self.grid.setColumnStretch(n_heads + 1, 1)
        self._shape = (n_layers, n_heads)
        self._fit_grid(n_layers + 1)

    def _fit_grid(self, rows: int) -> None:
        """Every layer in sight (none under the scroll area's edge) when that takes at most GRID_MOST_HEIGHT.
        Worked out from the rows' sizes: the new boxes are not shown yet, and a layout skips hidden ones."""
        row_height = max(self.grid.itemAt(i).widget().sizeHint().height() for i in range(self.grid.count()))
        margins = self.grid.contentsMargins()
        height = (
            rows * row_height
            + (rows - 1) * self.grid.verticalSpacing()
            + margins.top()
            + margins.bottom()
            + 2 * self.grid_scroll.frameWidth()
        )
        most = max(GRID_MOST_HEIGHT, GRID_MOST_ROWS * row_height)
        self.grid_scroll.setMaximumHeight(most)
        self.grid_scroll.setMinimumHeight(min(height, most))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange and self._shape[0]:
            self._fit_grid(self._shape[0] + 1)  # taller rows in a larger font (presenter mode): every layer in sight

    # -- the intervention ----------------------------------------------------------------------
    def current_intervention(self) -> Intervention:
        heads = frozenset(key for key, box in self.head_boxes.items() if box.isChecked())
        return Intervention(
            ablate_heads=heads,
            ablation=self.ablation_combo.currentData(),
            positional=not self.positional_off.isChecked(),
        )

    def set_intervention(self, intervention: Intervention) -> None:
        """Show `intervention` in the controls without announcing it as a change."""
        widgets = [*self.head_boxes.values(), self.ablation_combo, self.positional_off]
        for widget in widgets:
            widget.blockSignals(True)
        for key, box in self.head_boxes.items():
            box.setChecked(key in intervention.ablate_heads)
        self.ablation_combo.setCurrentIndex(list(ABLATIONS).index(intervention.ablation))
        self.positional_off.setChecked(not intervention.positional)
        for widget in widgets:
            widget.blockSignals(False)

    def switch_off_head(self, layer: int, head: int) -> None:
        """Tick one head's box, as a student would: the model then runs without that head."""
        self.head_boxes[(layer, head)].setChecked(True)

    def switch_off_positions(self) -> None:
        """Tick "Positional encoding off": the model then sees a bag of tokens."""
        self.positional_off.setChecked(True)

    def reset(self) -> None:
        self.set_intervention(Intervention())
        self.intervention_changed.emit(self.current_intervention())

    def _on_choice_changed(self, *_ignored) -> None:
        self.intervention_changed.emit(self.current_intervention())

    # -- drawing -------------------------------------------------------------------------------
    def show_snapshot(self, snapshot: Snapshot) -> None:
        config = snapshot.config
        if self._shape != (config.n_layers, config.n_heads):
            self._rebuild_grid(config.n_layers, config.n_heads)
            self.set_intervention(snapshot.trace.intervention)
        self.positional_off.setEnabled(config.pos_encoding != "none")
        self._labels = snapshot.vocab_labels
        if snapshot.baseline is None:
            if self._probabilities is not None:  # else already drawn: typing need not repaint it
                self._show_no_changes()
            return
        before = last_position(snapshot.baseline, "probs")  # (vocab,) intact model
        after = last_position(snapshot.trace, "probs")  # (vocab,) with the what-if
        self._show_changes(before, after)

    def _show_no_changes(self) -> None:
        self._probabilities = None
        self._changes = (np.zeros(0, dtype=int), np.zeros(0), np.zeros(0))
        self.change_bars.setOpts(x0=[], y=[], width=[])
        self.plot.getPlotItem().setXRange(-0.1, 0.1, padding=0)
        set_row_labels(self.plot, [], TOP_CHANGES)
        self.empty_text.setPos(0, TOP_CHANGES / 2)
        self.empty_text.setVisible(True)
        self.summary.setText("Nothing switched off: the model is intact.")

    def _show_changes(self, before: np.ndarray, after: np.ndarray) -> None:
        self.empty_text.setVisible(False)
        self._probabilities = (before, after)
        delta = after - before
        rows = self.rows_that_fit()
        ids = top_ids(np.abs(delta), rows)
        self._changes = (ids, before[ids], after[ids])
        theme = colours(self.dark)
        brushes = [pg.mkBrush(theme.increase if d >= 0 else theme.decrease) for d in delta[ids]]
        self.change_bars.setOpts(
            x0=np.minimum(delta[ids], 0),
            y=np.arange(len(ids)),
            width=np.abs(delta[ids]),
            brushes=brushes,
            pen=pg.mkPen(None),
        )
        set_row_labels(self.plot, [f"{self._labels[t]}  {before[t]:.1%} → {after[t]:.1%}" for t in ids], rows)
        reach = max(float(np.abs(delta[ids]).max()), 1e-4) * 1.15
        self.plot.getPlotItem().setXRange(-reach, reach, padding=0)
        top_before, top_after = int(before.argmax()), int(after.argmax())
        moved = 0.5 * np.abs(delta).sum()  # total variation: how much probability changed hands
        self.summary.setText(
            f"Most likely next token: <b>{_html(self._labels[top_before])}</b> {before[top_before]:.1%} → "
            f"<b>{_html(self._labels[top_after])}</b> {after[top_after]:.1%}. "
            f"{moved:.1%} of the probability moved to other tokens."
        )

    def changes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(token ids, probability before, probability after) of the rows shown."""
        return tuple(a.copy() for a in self._changes)

    def _export_table(self) -> ExportTable:
        ids, before, after = self._changes
        return ExportTable(
            np.column_stack([before, after, after - before]),
            row_labels=[self._labels[t] for t in ids],
            column_labels=["before", "after", "change"],
            corner="token",
        )

    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        style_graphics_view(self.plot, dark)
        style_plot_item(self.plot.getPlotItem(), dark)
        keep_room_for_rows(self.plot, FEWEST_ROWS)  # after the fonts: the rows are as tall as their labels
        self.keep_room_for_title()

    def keep_room_for_title(self) -> None:
        """The plot is never narrower than its row labels plus the change axis' title: the title is centred
        under the bars, beside the labels, and would be cut at the right (presenter mode's larger font)."""
        item = self.plot.getPlotItem()
        title = item.getAxis("bottom").label.boundingRect().width()
        self.plot.setMinimumWidth(int(item.getAxis("left").width() + title) + 2 * TITLE_MARGIN)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
