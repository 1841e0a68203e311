"""How big is "large"? The current model's parameters by part, next to GPT-2 small, GPT-2 XL and GPT-3.

Every column is worked out by core.model.param_count from a configuration, with the same formula.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.state.snapshot import Snapshot
from app.views.export import ExportTable, add_export_menu
from core.model.config import GPTConfig
from core.model.param_count import FAMOUS_CONFIGS, ParameterCount, count_parameters, human_count

ROWS = ("embeddings", "attention", "MLP", "norms", "head", "total")


def _shape_text(config: GPTConfig) -> str:
    text = f"{config.n_layers} layers\nd_model {config.d_model}"
    if config.n_kv_heads != config.n_heads:
        text += f"\n{config.n_heads} heads, {config.n_kv_heads} key/value"
    return text


def shared_kv_text(count: ParameterCount, config: GPTConfig) -> str:
    """What grouped-query attention saves, or '' for ordinary multi-head attention."""
    saved = count.saved_by_shared_kv
    if not saved:
        return ""
    return (
        f" Its {config.n_heads} query heads share {config.n_kv_heads} key/value heads, which saves "
        f"<b>{human_count(saved)}</b> parameters: attention would need {human_count(count.attention + saved)} "
        f"with a key and value per head ({saved / (count.attention + saved):.0%} less)."
    )


def _share_text(part: int, total: int) -> str:
    """' (32%)', ' (0.4%)', ' (<0.1%)' or ' (0%)': a part's share of the whole."""
    percent = 100 * part / total
    if percent == 0 or percent >= 1:
        return f" ({percent:.0f}%)"
    return f" ({percent:.1f}%)" if percent >= 0.1 else " (<0.1%)"


class ParameterView(QWidget):
    TITLE = "Model size"
    TOOLTIP = "This model's parameters by part, next to GPT-2 small, GPT-2 XL and GPT-3, counted the same way."
    OBJECT_NAME = "parameterView"
    FOLLOWS_SELECTION = False

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(self.OBJECT_NAME)
        self.config: GPTConfig | None = None
        self.heading = QLabel(objectName="parameterHeading", wordWrap=True)
        self.table = QTableWidget(len(ROWS), 1 + len(FAMOUS_CONFIGS), objectName="parameterTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setVerticalHeaderLabels(list(ROWS))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, stretch=1)
        add_export_menu(self.table, "parameter counts", self._export_table)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.config != self.config:
            self.show_config(snapshot.config)

    def set_theme(self, dark: bool) -> None:
        """Nothing to recolour: the table takes the application's palette."""

    def show_config(self, config: GPTConfig) -> None:
        self.config = config
        columns = {"this model": config, **FAMOUS_CONFIGS}
        self.table.setHorizontalHeaderLabels([f"{name}\n{_shape_text(c)}" for name, c in columns.items()])
        for column, column_config in enumerate(columns.values()):
            self._fill_column(column, count_parameters(column_config))
        own = count_parameters(config)
        gpt3 = count_parameters(FAMOUS_CONFIGS["GPT-3"]).total
        self.heading.setText(
            f"This model has <b>{own.total:,}</b> parameters; GPT-3 has about "
            f"<b>{gpt3 / own.total:,.0f} times</b> as many." + shared_kv_text(own, config)
        )

    def _fill_column(self, column: int, count: ParameterCount) -> None:
        values = [n for _, n in count.parts()] + [count.total]
        for row, value in enumerate(values):
            share = _share_text(value, count.total) if row < len(values) - 1 else ""
            item = QTableWidgetItem(human_count(value) + share)
            item.setToolTip(f"{value:,} parameters")
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            if ROWS[row] == "total":
                bold = QFont(item.font())
                bold.setBold(True)
                item.setFont(bold)
            self.table.setItem(row, column, item)

    def cell_text(self, row_name: str, column: int) -> str:
        return self.table.item(ROWS.index(row_name), column).text()

    def _export_table(self) -> ExportTable:
        columns = {"this model": self.config, **FAMOUS_CONFIGS} if self.config else dict(FAMOUS_CONFIGS)
        counts = [count_parameters(c) for c in columns.values()]
        values = np.array([[n for _, n in c.parts()] + [c.total] for c in counts]).T  # (rows, models)
        return ExportTable(values, row_labels=ROWS, column_labels=list(columns), corner="part")
