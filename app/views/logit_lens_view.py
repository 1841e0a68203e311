"""Logit lens: what the model would predict if it stopped after each layer.

Each row reads the residual stream at one depth (the embeddings, then after every block) through the
final norm and the output head; each column is a position of the prompt. A cell shows that reading's
likeliest next token, shaded by its probability. The last row is the model's own prediction. Clicking a
cell shows its ten likeliest tokens as bars.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout

from app.model_loader import BackgroundJob
from core.explain.difference import LensDifference, lens_difference
from core.explain.logit_lens import LogitLens, extend_lens, logit_lens, residual_rows

from .explain_plots import probability_bars
from .explain_view import ExplainView, panel_job
from .compare_scale import matrix_scale, mode_caption
from .heatmap import HeatmapWidget
from .text_line import TextLine
from .plot_style import CELL_TEXT_POINT_SIZE, PROBABILITY_MAP, abbreviate, contrasting_text, font
from .view_base import caption

TOP_K = 10
MOST_WORK_ON_GUI_THREAD = 200_000_000  # multiply-adds (default model, 128 tokens: 84 M); beyond: a worker
MOST_CELL_TEXTS = 600  # beyond this many cells the labels are unreadable anyway: hover or click instead
FEWEST_LETTERS = 3  # a cell narrower than this many letters shows no label


class LogitLensView(ExplainView):
    TITLE = "Logit lens"
    TOOLTIP = "What the model would predict after each layer: the residual stream read through the output head."
    OBJECT_NAME = "logitLensView"

    computed = Signal()  # a lens made in the background (a big model's) is drawn

    def __init__(self, selection, controller, parent=None) -> None:
        super().__init__(selection, controller, parent)
        self.lens: LogitLens | None = None
        self.difference: LensDifference | None = None  # both prompts' lenses, in the Compare switch's Difference
        self._lens_of: tuple[object, object] | None = None  # (model, residual rows) self.lens was read from
        self.job: BackgroundJob | None = None  # a big model's lens being computed
        self._waiting = None  # the newest snapshot that came in meanwhile
        self.chosen: tuple[int, int] = (-1, -1)  # (row, position) whose top-10 the bars show; -1: last
        self.header = caption(
            "Each row reads the stream after that layer through the output head; the last row "
            "is the model's own prediction. <b>Click a cell</b> for its top ten.",
            "logitLensHeader",
        )
        self.grid = HeatmapWidget(
            title="Likeliest next token at each depth",
            colormap_name=PROBABILITY_MAP,
            column_name="position (the token read so far)",
            export_name="logit lens",
        )
        self.grid.setObjectName("logitLensGrid")
        self.grid.setToolTip(
            "Each cell: the likeliest next token if the model stopped at that row's depth "
            "(the final norm and the output head applied to the residual stream there), "
            "shaded by its probability."
        )
        self.grid.panel.numbers_on_cells = False  # each cell shows its token instead
        self.grid.hovered.connect(self._on_cell_hovered)
        self.grid.clicked.connect(self._on_cell_clicked)
        self.grid.panel.plot.getViewBox().sigResized.connect(self._place_cell_texts)
        self._cell_texts: list[pg.TextItem] = []
        self.bars = probability_bars("logitLensBars")
        self.detail = TextLine(object_name="logitLensDetail", word_wrap=True, keep_room=True)  # new text per keystroke

        row = QHBoxLayout()
        row.addWidget(self.grid, 3)
        side = QVBoxLayout()
        side.addWidget(self.detail)
        side.addWidget(self.bars, 1)
        row.addLayout(side, 1)
        layout = QVBoxLayout(self.content(QSize(500, 300)))
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addLayout(row, 1)
        self.set_theme(False)

    # -- drawing ------------------------------------------------------------------------------------
    def _redraw(self) -> None:
        config = self.snapshot.config
        work = (config.n_layers + 1) * self.snapshot.n_tokens * config.d_model * config.vocab_size
        self.difference = None
        if self.snapshot.is_difference:  # both prompts' lenses, cell by cell (three lenses' work)
            self._draw_difference(self.snapshot, 3 * work)
        elif work <= MOST_WORK_ON_GUI_THREAD:
            self._draw_lens(self._lens_reusing_prefix(), self.snapshot)
        else:  # a big model: every cell through the whole output head takes seconds
            self._compute_in_background(self.snapshot)

    def _lens_reusing_prefix(self) -> LogitLens:
        """This snapshot's lens; the columns of the prompt's start, unchanged since the last lens, reused."""
        model, trace = self.model, self.snapshot.trace
        previous, self._lens_of = self._lens_of, (model, residual_rows(trace, model.config.n_layers))
        if previous is None or previous[0] is not model or self.lens is None:
            return logit_lens(model, trace, k=TOP_K)
        return extend_lens(model, trace, self.lens, previous[1], k=TOP_K)

    def _compute_in_background(self, snapshot) -> None:
        """The lens of `snapshot` in a worker; while one runs, only the newest snapshot waits its turn."""
        if self.job is not None:
            self._waiting = snapshot
            return
        model = self.model
        self.detail.setText("Reading every layer through the output head (a big model: this takes a moment)…")
        job = self.job = panel_job(
            self,
            lambda report, cancelled: logit_lens(model, snapshot.trace, k=TOP_K),
            lambda job: self._on_lens_computed(job, snapshot),
        )
        job.start()

    def _on_lens_computed(self, job: BackgroundJob, snapshot) -> None:
        self.job = None
        waiting, self._waiting = self._waiting, None
        if waiting is not None:  # a newer prompt arrived meanwhile: its lens is the one worth drawing
            self._compute_in_background(waiting)
        elif job.error is not None:
            self.detail.setText(job.error)
        elif snapshot is self.snapshot:
            self._lens_of = None  # the columns kept for reuse are those of a lens read on the GUI thread
            self._draw_lens(job.result, snapshot)
            self.computed.emit()

    def _draw_difference(self, snapshot, work: int) -> None:
        """Each cell: the clean top token's probability in the clean run minus in the corrupted run, and
        "clean→corrupted" where the two runs' likeliest tokens differ."""
        if work > MOST_WORK_ON_GUI_THREAD:
            self.detail.setText("The difference of two lenses is read only for models small enough to read it at once.")
            return
        clean, corrupted = snapshot.compared
        self.difference = lens_difference(self.model, clean.trace, corrupted.trace, k=TOP_K)
        self._lens_of = None  # the clean lens kept for reuse is the one of the last clean snapshot
        self._draw_lens(self.difference.clean, snapshot)

    def _draw_lens(self, lens: LogitLens, snapshot) -> None:
        self.lens = lens
        top = lens.top_probs[:, :, 0]  # (rows, T) the likeliest's probability
        if self.difference is not None:
            top = self.difference.probability_change  # (rows, T)
        levels, colormap_name = matrix_scale(snapshot, top, (0.0, 1.0), PROBABILITY_MAP)
        self.grid.set_colormap(colormap_name)
        self.grid.set_title(mode_caption(snapshot, "Likeliest next token at each depth"))
        self.grid.set_matrix(top, levels, lens.rows, snapshot.token_labels)
        self._place_cell_texts()
        self._show_detail(*self._chosen_cell())

    def _chosen_cell(self) -> tuple[int, int]:
        rows, positions = self.lens.top_ids.shape[:2]
        row, position = self.chosen
        return (
            rows - 1 if row < 0 or row >= rows else row,
            positions - 1 if position < 0 or position >= positions else position,
        )

    def _show_detail(self, row: int, position: int) -> None:
        ids, probs = self.lens.top_ids[row, position], self.lens.top_probs[row, position]
        self.bars.set_bars([self.vocab_label(i) for i in ids], probs, fixed_range=(0.0, 1.0))
        self.grid.show_cursor(row, position)
        self.detail.setText(self.cell_text(row, position))

    def cell_text(self, row: int, position: int) -> str:
        token = self.snapshot.token_labels[position]
        best = self.lens.top_ids[row, position, 0]
        if self.difference is not None:
            other = self.difference.corrupted.top_ids[row, position, 0]
            return (
                f"{self.lens.rows[row]}, after ‘{token}’: likeliest ‘{self.vocab_label(best)}’ (clean) and "
                f"‘{self.vocab_label(other)}’ (corrupted); the clean one's probability changes by "
                f"{100 * self.difference.probability_change[row, position]:+.1f} points"
            )
        return (
            f"{self.lens.rows[row]}, after ‘{token}’ (position {position}): likeliest next "
            f"‘{self.vocab_label(best)}’ at {100 * self.lens.top_probs[row, position, 0]:.1f}%"
        )

    def shown_top_tokens(self) -> list[list[str]]:
        """Each cell's likeliest token as labelled on screen (rows × positions)."""
        rows, positions = self.lens.top_ids.shape[:2]
        return [[self._cell_label(row, position) for position in range(positions)] for row in range(rows)]

    def _place_cell_texts(self, *_ignored) -> None:
        """Each cell's likeliest token written on it, cut to the letters its width holds."""
        if self.lens is None:
            return
        rows, positions = self.lens.top_ids.shape[:2]
        box = self.grid.panel.plot.getViewBox().size()
        metrics = QFontMetrics(font(CELL_TEXT_POINT_SIZE))
        letters = int(box.width() / max(positions, 1) / max(metrics.averageCharWidth(), 1)) - 1
        fits = (
            rows * positions <= MOST_CELL_TEXTS
            and letters >= FEWEST_LETTERS
            and box.height() / rows >= metrics.height()
        )
        needed = rows * positions if fits else 0
        while len(self._cell_texts) < needed:
            text = pg.TextItem(anchor=(0.5, 0.5))
            text.setFont(font(CELL_TEXT_POINT_SIZE))
            text.setZValue(5)
            self.grid.panel.plot.addItem(text)
            self._cell_texts.append(text)
        for text in self._cell_texts[needed:]:
            text.hide()
        lookup = self.grid.panel.image.getColorMap()
        low, high = self.grid.panel.image.levels
        shown = self.grid.matrix()
        for index, text in enumerate(self._cell_texts[:needed]):
            row, position = divmod(index, positions)
            shade = lookup.map(float((shown[row, position] - low) / (high - low or 1.0)), mode="qcolor")
            text.setText(abbreviate(self._cell_label(row, position), letters), contrasting_text(QColor(shade)))
            text.setPos(position, row)
            text.show()

    def _cell_label(self, row: int, position: int) -> str:
        """The cell's likeliest token; "clean→corrupted" where the two prompts' lenses disagree."""
        best = self.vocab_label(self.lens.top_ids[row, position, 0])
        if self.difference is None or not self.difference.top_differs[row, position]:
            return best
        return f"{best}→{self.vocab_label(self.difference.corrupted.top_ids[row, position, 0])}"

    # -- mouse --------------------------------------------------------------------------------------
    def _on_cell_hovered(self, row: int, position: int) -> None:
        if self.lens is None:
            return
        if row < 0:
            self._show_detail(*self._chosen_cell())
        else:
            self.detail.setText(self.cell_text(row, position) + " (click to see its top ten)")

    def _on_cell_clicked(self, row: int, position: int) -> None:
        if self.lens is None:
            return
        rows, positions = self.lens.top_ids.shape[:2]
        # the last row/position stays "the last" as the prompt grows, so typing keeps the newest prediction
        self.chosen = (-1 if row == rows - 1 else row, -1 if position == positions - 1 else position)
        self._show_detail(row, position)

    # -- looks --------------------------------------------------------------------------------------
    def _apply_theme(self) -> None:
        self.grid.set_theme(self.dark)
        self.bars.set_theme(self.dark)
