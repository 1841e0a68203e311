"""One optimizer step, opened up: the batch it read, the loss, one weight matrix's gradient and the
update AdamW applied to it.

Filled by the Step button (exactly one step); Play and Step ×10 do not open their steps up, so
the view keeps showing the last single step.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.views.heatmap import HeatmapWidget
from app.views.plot_style import SIGNED_MAP
from core.teaching.analysis import symmetric_range
from core.training.trainer import StepRecord

BATCH_ROWS_SHOWN = 3  # windows of the batch shown as tokens (the rest are like them)
DEFAULT_PARAMETER = "transformer.h.0.attn.c_attn.weight"


def as_matrix(values: np.ndarray) -> np.ndarray:
    """A weight as a 2-D picture: matrices as they are, vectors (biases, LayerNorm gains) as one row."""
    values = np.asarray(values, dtype=np.float32)
    return values if values.ndim == 2 else values.reshape(1, -1)


class OneStepView(QWidget):
    TITLE = "One step"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("oneStepView")
        self.record: StepRecord | None = None
        self.summary = QLabel(
            "Press Step to take exactly one optimizer step and see it here.", objectName="stepSummary"
        )
        self.summary.setWordWrap(True)
        self.parameter_combo = QComboBox(objectName="inspectParameter")
        self.parameter_combo.setToolTip(
            "Which weight matrix to show the gradient and update of (applies to the next Step)."
        )
        self.batch_table = QTableWidget(objectName="batchTable")
        self.batch_table.setToolTip(
            "The batch: each window's input tokens, and under them the targets "
            "(the same text shifted by one: the token that came next)."
        )
        self.batch_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.batch_table.setMinimumHeight(70)
        self.gradient_view = HeatmapWidget(
            "gradient", colormap_name=SIGNED_MAP, row_name="row", column_name="column", export_name="gradient"
        )
        self.gradient_view.setObjectName("gradientHeatmap")
        self.gradient_view.setToolTip(
            "∂loss/∂weight for every entry: which way (and how strongly) each "
            "number should move to lower the loss on this batch."
        )
        self.update_view = HeatmapWidget(
            "update applied", colormap_name=SIGNED_MAP, row_name="row", column_name="column", export_name="update"
        )
        self.update_view.setObjectName("updateHeatmap")
        self.update_view.setToolTip(
            "How much AdamW actually changed each entry (after - before). Adam rescales "
            "each entry, so the update is not just the gradient times the learning rate."
        )

        for heatmap in (self.gradient_view, self.update_view):
            heatmap.setMinimumSize(160, 120)
        top = QHBoxLayout()
        top.addWidget(QLabel("Weight to open up:"))
        top.addWidget(self.parameter_combo, 1)
        maps = QHBoxLayout()
        maps.addWidget(self.gradient_view, 1)
        maps.addWidget(self.update_view, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(top)
        layout.addWidget(self.batch_table, 2)
        layout.addLayout(maps, 3)

    def set_parameter_names(self, names: list[str]) -> None:
        current = self.chosen_parameter() or DEFAULT_PARAMETER
        self.parameter_combo.blockSignals(True)
        self.parameter_combo.clear()
        self.parameter_combo.addItems(names)
        index = self.parameter_combo.findText(current)
        self.parameter_combo.setCurrentIndex(max(0, index))
        self.parameter_combo.blockSignals(False)

    def chosen_parameter(self) -> str:
        return self.parameter_combo.currentText()

    def show_step(self, record: StepRecord, tokenizer) -> None:
        """Draw a step taken with inspect=[chosen parameter]."""
        self.record = record
        details = record.details
        if details is None:
            return
        name = next(iter(details.gradients))
        clipped = (
            ""
            if details.clip_scale >= 1.0
            else (
                f" The whole gradient was longer than the clip limit, so it was scaled by {details.clip_scale:.3f} "
                f"before the update."
            )
        )
        self.summary.setText(
            f"<b>Step {record.step}</b>: loss {record.loss:.4f} on a batch of {details.x.shape[0]} windows × "
            f"{details.x.shape[1]} tokens, learning rate {record.lr:.2e}.{clipped} "
            f"Showing <code>{name}</code> {tuple(details.gradients[name].shape)}."
        )
        self._fill_batch(details.x, details.y, tokenizer)
        gradient, update = as_matrix(details.gradients[name]), as_matrix(details.updates[name])
        self.gradient_view.set_matrix(gradient, symmetric_range(gradient))
        self.gradient_view.set_title(f"gradient of {name}")
        self.update_view.set_matrix(update, symmetric_range(update))
        self.update_view.set_title("update applied (after − before)")

    def _fill_batch(self, x: np.ndarray, y: np.ndarray, tokenizer) -> None:
        rows = min(BATCH_ROWS_SHOWN, x.shape[0])
        self.batch_table.clear()
        self.batch_table.setRowCount(2 * rows)
        self.batch_table.setColumnCount(x.shape[1])
        labels = []
        for row in range(rows):
            for offset, ids in ((0, x[row]), (1, y[row])):
                for column, token_id in enumerate(ids):
                    item = QTableWidgetItem(tokenizer.token_label(int(token_id)))
                    item.setToolTip(f"token id {int(token_id)}")
                    self.batch_table.setItem(2 * row + offset, column, item)
            labels += [f"window {row + 1} input", f"window {row + 1} target"]
        self.batch_table.setVerticalHeaderLabels(labels)

    def clear(self) -> None:
        self.record = None
        self.batch_table.clear()
        self.batch_table.setRowCount(0)
        self.summary.setText("Press Step to take exactly one optimizer step and see it here.")

    def set_theme(self, dark: bool) -> None:
        self.gradient_view.set_theme(dark)
        self.update_view.set_theme(dark)
