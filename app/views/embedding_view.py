"""Token embeddings: the vector each token id is turned into before anything else happens.

Left, the prompt's vectors as a heatmap (token × dimension). Right, the whole vocabulary squeezed
to 2-D by PCA, the prompt's tokens marked; click a token (a heatmap row or a dot) to list the tokens
whose vectors point most nearly the same way (cosine similarity).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QSplitter, QVBoxLayout, QWidget

from core.teaching.analysis import nearest_neighbours, pca_2d, symmetric_range

from .export import ExportTable, add_export_menu
from .compare_scale import mode_caption
from .heatmap import HeatmapWidget
from .plot_style import SIGNED_MAP, abbreviate, colours, font, style_graphics_view, style_plot_item
from .view_base import SnapshotView, caption

NEIGHBOURS = 10
NEIGHBOUR_HINT = "Click a token (a row of the heatmap or a dot) to list its nearest neighbours."


class EmbeddingView(SnapshotView):
    TITLE = "Token embeddings"
    TOOLTIP = "The vector each token becomes, and where every token of the vocabulary sits (PCA to 2-D)."
    OBJECT_NAME = "embeddingView"
    FOLLOWS_SELECTION = False  # embeddings come before any layer or head

    def __init__(self, selection, parent=None) -> None:
        super().__init__(selection, parent)
        self.chosen_id: int | None = None
        self._neighbours: list[tuple[int, float]] = []
        self._projection: np.ndarray | None = None
        self._projection_of: np.ndarray | None = None  # the embeddings the projection was made from
        self._vocabulary_drawn: np.ndarray | None = None  # the projection the faint dots show
        self._prompt_drawn: tuple = ()  # (token ids, projection) the marked dots show
        self._neighbours_of: tuple = ()  # (token id, embeddings) the list shows

        self.heatmap = HeatmapWidget(
            title="Prompt tokens as vectors",
            colormap_name=SIGNED_MAP,
            row_name="token",
            column_name="dimension",
            export_name="token embeddings",
        )
        self.heatmap.setObjectName("embeddingHeatmap")
        self.heatmap.clicked.connect(self._on_row_clicked)

        self.scatter_plot = pg.PlotWidget()
        self.scatter_plot.setObjectName("embeddingScatter")
        self.scatter_plot.setMinimumSize(260, 220)
        self.scatter_plot.setAspectLocked(True)
        self.scatter_plot.setTitle("The whole vocabulary, flattened to 2-D (PCA)")
        self.scatter_plot.setLabel("bottom", "PCA direction 1")
        self.scatter_plot.setLabel("left", "PCA direction 2")
        for side in ("bottom", "left"):
            self.scatter_plot.getAxis(side).enableAutoSIPrefix(False)  # plain numbers, no '(x0.001)'

        self.vocabulary_dots = pg.ScatterPlotItem(size=5, pen=None)
        self.vocabulary_dots.sigClicked.connect(self._on_dot_clicked)
        self.neighbour_dots = pg.ScatterPlotItem(size=12, brush=None)
        self.prompt_dots = pg.ScatterPlotItem(size=11)
        self.prompt_dots.sigClicked.connect(self._on_dot_clicked)
        self.chosen_dot = pg.ScatterPlotItem(size=22, symbol="star")
        for item in (self.vocabulary_dots, self.neighbour_dots, self.prompt_dots, self.chosen_dot):
            self.scatter_plot.addItem(item)
        self._dot_labels: list[pg.TextItem] = []
        add_export_menu(self.scatter_plot, "vocabulary PCA", self._export_projection)

        self.neighbour_title = caption(NEIGHBOUR_HINT, "neighbourTitle", point_size=11)
        self.neighbour_list = QListWidget()
        self.neighbour_list.setObjectName("neighbourList")
        self.neighbour_list.setFont(font(11))
        self.neighbour_list.itemActivated.connect(lambda item: self.show_neighbours(item.data(Qt.UserRole)))

        right = QSplitter(Qt.Vertical)
        right.addWidget(self.scatter_plot)
        neighbours = QWidget()
        column = QVBoxLayout(neighbours)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.neighbour_title)
        column.addWidget(self.neighbour_list)
        right.addWidget(neighbours)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.heatmap)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self.content(QSize(640, 380)))
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self.set_theme(False)

    # -- drawing ------------------------------------------------------------------------------------
    def _redraw(self) -> None:
        snapshot = self.snapshot
        vectors = snapshot.trace.numpy("embed.tok")  # (T, C)
        self.heatmap.set_title(mode_caption(snapshot, "Prompt tokens as vectors"))
        self.heatmap.set_matrix(vectors, symmetric_range(vectors), list(snapshot.token_labels), None)
        self._draw_vocabulary()
        self._draw_prompt_dots()
        if self.chosen_id is None or self.chosen_id >= len(snapshot.vocab_labels):
            self.chosen_id = self.prompt_ids()[-1]  # start with the last token: what comes next?
        self.show_neighbours(self.chosen_id)

    def prompt_ids(self) -> list[int]:
        return [int(i) for i in self.snapshot.trace.ids[0].tolist()]

    def projection(self) -> np.ndarray:
        """(vocab, 2): the snapshot's PCA, or one made here once per embedding matrix."""
        snapshot = self.snapshot
        if snapshot.vocab_projection is not None:
            return snapshot.vocab_projection
        if self._projection_of is not snapshot.vocab_embeddings:
            self._projection = pca_2d(snapshot.vocab_embeddings)
            self._projection_of = snapshot.vocab_embeddings
        return self._projection

    def _draw_vocabulary(self) -> None:
        """Every vocabulary token as a faint dot; redrawn only when the model changes."""
        projection = self.projection()
        if self._vocabulary_drawn is projection:
            return
        self.vocabulary_dots.setData(pos=projection, data=np.arange(len(projection)))
        self._vocabulary_drawn = projection
        self._style_dots()
        self.scatter_plot.autoRange()

    def _draw_prompt_dots(self, force: bool = False) -> None:
        projection = self.projection()
        unique_ids = list(dict.fromkeys(self.prompt_ids()))  # each token once, in prompt order
        if not force and _same(self._prompt_drawn, (unique_ids, projection)):
            return  # the same tokens on the same map: nothing moves
        self._prompt_drawn = (unique_ids, projection)
        self.prompt_dots.setData(pos=projection[unique_ids], data=unique_ids)
        while len(self._dot_labels) < len(unique_ids):
            label = pg.TextItem(anchor=(0, 1))
            label.setFont(font(10))
            self.scatter_plot.addItem(label)
            self._dot_labels.append(label)
        text_colour = QColor(colours(self.dark)["text"])
        for label, token_id in zip(self._dot_labels, unique_ids):
            text = abbreviate(self.snapshot.vocab_labels[token_id])
            if force or label.textItem.toPlainText() != text:  # setting text is slow: only on a change
                label.setText(text, text_colour)
            label.setPos(*projection[token_id])
            label.show()
        for label in self._dot_labels[len(unique_ids) :]:
            label.hide()

    # -- neighbours ---------------------------------------------------------------------------------
    def show_neighbours(self, token_id: int) -> None:
        """List (and ring on the map) the tokens whose embeddings point most nearly like token_id's."""
        snapshot = self.snapshot
        self.chosen_id = token_id
        if _same(self._neighbours_of, (token_id, snapshot.vocab_embeddings)):
            return  # same token, same model: the list is already right
        self._neighbours_of = (token_id, snapshot.vocab_embeddings)
        self._neighbours = nearest_neighbours(snapshot.vocab_embeddings, token_id, NEIGHBOURS)
        label = snapshot.vocab_labels[token_id]
        self.neighbour_title.setText(
            f"Nearest neighbours of <b>‘{label}’</b> (id {token_id}) by cosine "
            f"similarity (1 = same direction); ★ and rings on the map. Click another token to compare."
        )
        self.neighbour_list.clear()
        for neighbour_id, cosine in self._neighbours:
            item = QListWidgetItem(f"{cosine:+.3f}   ‘{snapshot.vocab_labels[neighbour_id]}’  (id {neighbour_id})")
            item.setData(Qt.UserRole, neighbour_id)
            self.neighbour_list.addItem(item)
        projection = self.projection()
        self.neighbour_dots.setData(pos=projection[[i for i, _ in self._neighbours]])
        self.chosen_dot.setData(pos=projection[[token_id]])

    def neighbours(self) -> list[tuple[int, float]]:
        """(token id, cosine) pairs now listed, best first."""
        return list(self._neighbours)

    def _on_row_clicked(self, row: int, col: int) -> None:
        self.show_neighbours(self.prompt_ids()[row])

    def _on_dot_clicked(self, item, points, event=None) -> None:
        if len(points):
            self.show_neighbours(int(points[0].data()))

    # -- looks and export ---------------------------------------------------------------------------
    def _apply_theme(self) -> None:
        self.heatmap.set_theme(self.dark)
        style_graphics_view(self.scatter_plot, self.dark)
        style_plot_item(self.scatter_plot.getPlotItem(), self.dark)
        self._style_dots()
        if self.snapshot is not None:
            self._draw_prompt_dots(force=True)

    def _style_dots(self) -> None:
        palette = colours(self.dark)
        faint = QColor(palette["muted"])
        faint.setAlpha(110)
        self.vocabulary_dots.setBrush(faint)
        self.prompt_dots.setBrush(QColor(palette["line"]))
        self.prompt_dots.setPen(pg.mkPen(palette["background"]))
        self.neighbour_dots.setPen(pg.mkPen(palette["accent"], width=2))
        self.chosen_dot.setBrush(QColor(palette["accent"]))
        self.chosen_dot.setPen(pg.mkPen(palette["background"]))

    def _export_projection(self) -> ExportTable:
        if self.snapshot is None:
            return ExportTable(np.zeros((0, 2)))
        return ExportTable(
            self.projection(),
            row_labels=self.snapshot.vocab_labels,
            column_labels=["PCA direction 1", "PCA direction 2"],
            corner="token",
        )


def _same(drawn: tuple, wanted: tuple) -> bool:
    """(ids, array) pairs: equal ids and the very same array object (arrays are never compared by value)."""
    return bool(drawn) and drawn[0] == wanted[0] and drawn[1] is wanted[1]
