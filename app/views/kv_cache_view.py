"""The KV cache, step by step: generating one token reuses every earlier key and value.

Step 0 reads the whole prompt (the prefill) and fills the cache with a key and a value per position,
layer and head. Every later step reads only the token chosen last: it computes one new row of queries,
keys and values, appends the key and value to the cache, and lets its query look at every cached key.
The counter adds up the multiply-adds this saves against recomputing every position at every step.
The matrices are the chosen layer and head's (the toolbar's selection).
"""

from __future__ import annotations

import html

import numpy as np
import torch
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout

from core.explain.kv_steps import CacheStep, generate_with_cache
from core.teaching.analysis import symmetric_range

from .explain_view import ExplainView
from .heatmap import HeatmapWidget
from .plot_style import SIGNED_MAP
from .text_line import TextLine
from .view_base import caption

ONE_ROW_HEIGHT = 130  # pixels for the one new query row of a step after the prefill
TALLEST = 16777215  # Qt's "no maximum"
START_TEXT = "Press <b>Step</b>: the first step reads the whole prompt and fills the cache (the prefill)."


class KVCacheView(ExplainView):
    TITLE = "KV cache"
    TOOLTIP = "Generate one token at a time and watch the key/value cache fill, with the work it saves."
    OBJECT_NAME = "kvCacheView"
    FOLLOWS_SELECTION = True  # the matrices are the chosen layer and head's

    def __init__(self, selection, controller, parent=None) -> None:
        super().__init__(selection, controller, parent)
        self.prompt: list[int] = []
        self.steps: list[CacheStep] = []
        self._generator = None
        self.step_button = QPushButton("Step: generate one token", objectName="kvStep")
        self.step_button.clicked.connect(self.step)
        self.restart_button = QPushButton("Start again", objectName="kvRestart")
        self.restart_button.clicked.connect(self.restart)
        self.counter = caption(START_TEXT, "kvCounter", point_size=12)
        self.text = TextLine(object_name="kvText", word_wrap=True, keep_room=True)  # new text per keystroke
        self.query = HeatmapWidget(
            title="new queries",
            colormap_name=SIGNED_MAP,
            column_name="dimension",
            export_name="new queries",
            colorbar=False,
        )
        self.query.setObjectName("kvQuery")
        self.cache = HeatmapWidget(
            colormap_name=SIGNED_MAP,
            panel_titles=("keys in the cache", "values in the cache"),
            export_name="key value cache",
        )
        self.cache.setObjectName("kvCache")
        self.cache.set_column_name("dimension")

        buttons = QHBoxLayout()
        buttons.addWidget(self.step_button)
        buttons.addWidget(self.restart_button)
        buttons.addStretch(1)
        matrices = QHBoxLayout()
        matrices.addWidget(self.query, 1, Qt.AlignBottom)  # level with the newest cache row
        matrices.addWidget(self.cache, 2)
        layout = QVBoxLayout(self.content(QSize(500, 380)))
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.counter)
        layout.addWidget(self.text)
        layout.addLayout(matrices, 1)
        self.set_theme(False)

    # -- generating ---------------------------------------------------------------------------------
    def restart(self) -> None:
        """Forget the cache: the next step is the prefill of the explorer's prompt again."""
        self.prompt = self.prompt_ids() if self.snapshot is not None else []
        self.steps = []
        self._generator = None
        self.step_button.setEnabled(True)
        self.counter.setText(START_TEXT)
        self._draw_cache()

    def step(self) -> None:
        """One more pass: the prefill first, then one token."""
        if self.snapshot is None:
            return
        if self._generator is None:
            room = self.snapshot.config.context_length - len(self.prompt) + 1  # passes until the context is full
            self._generator = generate_with_cache(self.model, self.prompt, room)
        try:
            with self.computing():
                self.steps.append(next(self._generator))
        except StopIteration:
            self.step_button.setEnabled(False)
            self.counter.setText(
                f"The context is full ({self.snapshot.config.context_length} tokens): the model "
                f"can read no more. Press <b>Start again</b>."
            )
            return
        except ValueError as error:
            self.counter.setText(str(error))
            return
        self.counter.setText(self.counter_text())
        self._draw_cache()

    def counter_text(self) -> str:
        last = self.steps[-1]
        saved = sum(step.saved for step in self.steps)
        without = sum(step.multiply_adds_without_cache for step in self.steps)
        chosen = self.snapshot.vocab_labels[last.next_token]
        if last.step == 0:
            did = (
                f"<b>Prefill</b>: read all {last.n_new} prompt tokens at once and cached their keys and "
                f"values ({last.cache_length} positions in every layer and head)."
            )
        else:
            did = (
                f"<b>Step {last.step}</b>: computed 1 new row of queries, keys and values, and reused "
                f"{last.n_cached} cached keys and values in every layer and head."
            )
        return (
            f"{did} Next token ‘{html.escape(chosen)}’ ({100 * last.next_prob:.0f}%). This pass: "
            f"{_millions(last.multiply_adds)} multiply-adds instead of {_millions(last.multiply_adds_without_cache)} "
            f"without a cache. <b>Saved so far: {_millions(saved)} ({100 * saved / without:.0f}%).</b>"
        )

    # -- drawing ------------------------------------------------------------------------------------
    def _redraw(self) -> None:
        if self.snapshot.is_difference:  # generation reads one prompt: there is no difference of caches
            self.prompt, self.steps, self._generator = [], [], None  # back on one prompt, the cache starts again
            self.step_button.setEnabled(False)
            self.counter.setText(ONE_PROMPT)
            self._draw_cache()
            return
        if self.prompt_ids() != self.prompt:
            self.restart()  # a new prompt: the cache of the old one is no use
        else:
            self._draw_cache()

    def cached(self, part: str) -> np.ndarray:
        """(positions, hs): the chosen layer and head's keys or values in the cache so far."""
        layer, head = self.selected()
        rows = [getattr(step, part)[layer] for step in self.steps]  # each (nh, n_new, hs)
        stacked = torch.cat(rows, dim=1)  # (nh, positions, hs)
        return stacked[min(head, stacked.size(0) - 1)].numpy()  # grouped heads share one

    def _draw_cache(self) -> None:
        labels = list(self.snapshot.token_labels) if self.snapshot is not None else []
        generated = [self.snapshot.vocab_labels[step.next_token] for step in self.steps] if self.steps else []
        self.text.setText(self.text_line(labels, generated))
        if not self.steps:
            self.query.setVisible(False)
            self.cache.setVisible(False)
            return
        self.query.setVisible(True)
        self.cache.setVisible(True)
        layer, head = self.selected()
        last = self.steps[-1]
        positions = labels + generated[:-1]  # what the cache holds
        query = last.query[layer][min(head, last.query.size(1) - 1)].numpy()  # (n_new, hs)
        self.query.set_matrix(query, symmetric_range(query), positions[last.positions.start :], None)
        self.query.setMaximumHeight(ONE_ROW_HEIGHT if last.n_new == 1 else TALLEST)  # one row: a strip
        self.query.set_title(f"new queries (layer {layer}, head {head})")
        keys, values = self.cached("key"), self.cached("value")
        levels = symmetric_range(np.concatenate((keys, values)))  # one colour bar for both
        self.cache.set_matrix(keys, levels, positions, None, panel=0)
        self.cache.set_matrix(values, levels, positions, None, panel=1)
        new_row = -1 if last.step == 0 else last.positions.start
        self.cache.show_cursor(new_row, -1)  # the row this step added; the rest were reused

    def text_line(self, prompt: list[str], generated: list[str]) -> str:
        shown = ("…" if len(prompt) > 40 else "") + "".join(prompt[-40:])
        return f"Prompt: {shown}" + (f"   generated: {''.join(generated)}" if generated else "")

    def _apply_theme(self) -> None:
        self.query.set_theme(self.dark)
        self.cache.set_theme(self.dark)


ONE_PROMPT = (
    "The cache fills as one prompt generates: switch Compare to <b>Clean</b> or <b>Corrupted</b> to step "
    "through either prompt's generation."
)


def _millions(count: int) -> str:
    return f"{count / 1e6:.2f} M"
