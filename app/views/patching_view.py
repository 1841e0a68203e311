"""Activation patching: which heads (or which positions of the residual stream) carry the answer?

The explorer's prompt is the clean run; the field here holds a corrupted one (the Compare bar's second
prompt: the two fields are one) that differs where it matters ("…John gave a drink to" with the names
swapped). The corrupted prompt is run again once per head (or per layer and position) with that one
value copied from the clean run. A cell's colour says how much of the clean answer that single copy
brings back: 0 = none (the corrupted run), 1 = all of it.

Preparing (both traces, and one measured batch for the estimate) and the sweep itself run in a
background thread; the estimate is on screen before the sweep starts, a long one waits for a second
click, and Cancel stops between batches and leaves the last finished picture as it was.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QVBoxLayout

from app.model_loader import BackgroundJob
from core.explain.alignment import check_same_length, cut_to_same_length, pad_id, pad_to_same_length
from core.explain.patching import PatchingPair, SweepEstimate, SweepResult, estimate_sweep, patching_pair, sweep

from .explain_view import ExplainView, panel_job, picked_token, token_picker
from .heatmap import HeatmapWidget
from .plot_style import SIGNED_MAP
from .view_base import caption

KINDS = {"heads": "every head's output", "residual": "the residual stream at every layer and position"}
BATCH_SIZE = 16
CONFIRM_SECONDS = 20.0  # a sweep estimated longer than this starts only on a second click
CLEAR_GAP = 0.5  # logits: below this clean and corrupted barely differ and normalised scores blow up
ERROR_STYLE = "<span style='color:#d93025'>{}</span>"


class PatchingView(ExplainView):
    TITLE = "Patching"
    TOOLTIP = (
        "Copy one head (or one position) from the clean prompt into a corrupted one, and see which "
        "bring the answer back."
    )
    OBJECT_NAME = "patchingView"

    settled = Signal()  # no work running any more (swept, failed, cancelled, or waiting for "Start anyway")

    def __init__(self, selection, controller, parent=None) -> None:
        super().__init__(selection, controller, parent)
        self.batch_size = BATCH_SIZE
        self.aligned: tuple[list[int], list[int]] | None = None  # (clean, corrupted) after pad/cut
        self.pair: PatchingPair | None = None
        self.estimate: SweepEstimate | None = None
        self.result: SweepResult | None = None  # the last sweep that finished
        self.job: BackgroundJob | None = None
        self._cancel = threading.Event()
        cancel = self._cancel
        self.destroyed.connect(lambda *_: cancel.set())  # a sweep stops between batches when its panel goes

        self.corrupted_field = QLineEdit(
            objectName="corruptedPrompt",
            clearButtonEnabled=True,
            placeholderText="the corrupted prompt: the same, with the detail that matters changed",
        )
        self.corrupted_field.setToolTip("The same second prompt as the Compare bar's: editing either changes both.")
        if hasattr(controller, "comparison_changed"):  # one corrupted prompt for the whole explorer
            self.corrupted_field.setText(controller.comparison.corrupted_prompt)
            controller.comparison_changed.connect(self._on_shared_prompt_changed)
        self.corrupted_field.textChanged.connect(self._on_inputs_changed)
        self.answer_field = token_picker("patchingAnswer", "the clean prediction")
        self.wrong_field = token_picker("patchingWrong", "the corrupted prediction")
        self.kind_combo = QComboBox(objectName="patchingKind")
        for kind, words in KINDS.items():
            self.kind_combo.addItem(f"patch {words}", kind)
        self.run_button = QPushButton("Run sweep", objectName="patchingRun")
        self.run_button.clicked.connect(self._on_run_clicked)
        self.cancel_button = QPushButton("Cancel", objectName="patchingCancel", enabled=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(objectName="patchingProgress", textVisible=True)
        self.progress.hide()
        self.pad_button = QPushButton("Pad the shorter", objectName="patchingPad")
        self.cut_button = QPushButton("Cut the longer", objectName="patchingCut")
        self.pad_button.clicked.connect(lambda: self._align(pad=True))
        self.cut_button.clicked.connect(lambda: self._align(pad=False))
        self.problem = caption("", "patchingProblem")
        self.status = caption("", "patchingStatus")
        self.heatmap = HeatmapWidget(
            title="How much of the clean answer one patch brings back",
            colormap_name=SIGNED_MAP,
            row_name="layer",
            export_name="patching",
        )
        self.heatmap.setObjectName("patchingHeatmap")
        self.heatmap.hovered.connect(self._on_cell_hovered)
        self.heatmap.clicked.connect(self._on_cell_hovered)
        self.detail = caption("", "patchingDetail")

        tokens = QHBoxLayout()
        for text, widget in (("answer", self.answer_field), ("against", self.wrong_field)):
            tokens.addWidget(QLabel(text))
            tokens.addWidget(widget, 1)
        tokens.addWidget(self.kind_combo)
        buttons = QHBoxLayout()
        for widget in (self.run_button, self.cancel_button):
            buttons.addWidget(widget)
        buttons.addWidget(self.progress, 1)
        alignment = QHBoxLayout()
        alignment.addWidget(self.problem, 1)
        alignment.addWidget(self.pad_button)
        alignment.addWidget(self.cut_button)
        layout = QVBoxLayout(self.content(QSize(500, 420)))
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(caption("The explorer's prompt is the <b>clean</b> run. Corrupted run:"))
        layout.addWidget(self.corrupted_field)
        layout.addLayout(tokens)
        layout.addLayout(alignment)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.heatmap, 1)
        layout.addWidget(self.detail)
        self._show_problem("")
        self.set_theme(False)

    # -- the two prompts ----------------------------------------------------------------------------
    def _redraw(self) -> None:
        """A new clean prompt: any pad/cut made for the old one no longer applies."""
        self.aligned = None
        self._check_inputs()

    def _on_inputs_changed(self, _text: str = "") -> None:
        self.aligned = None
        self._check_inputs()
        shared = getattr(self.controller, "comparison", None)
        if shared is not None and shared.corrupted_prompt != self.corrupted_field.text():
            self.controller.set_comparison(replace(shared, corrupted_prompt=self.corrupted_field.text(), fix=""))

    def _on_shared_prompt_changed(self, comparison) -> None:
        """The Compare bar's second prompt changed: this field shows the same one."""
        if comparison.corrupted_prompt != self.corrupted_field.text():
            self.corrupted_field.setText(comparison.corrupted_prompt)

    def prompt_ids(self) -> list[int]:
        """The clean prompt's ids, whichever prompt the Compare switch has the other panels show."""
        return [int(i) for i in self.snapshot.clean.trace.ids[0].tolist()]

    def prompts(self) -> tuple[list[int], list[int]]:
        """(clean ids, corrupted ids) as the sweep will use them."""
        if self.aligned is not None:
            return self.aligned
        return self.prompt_ids(), self.session.tokenizer.encode(self.corrupted_field.text())

    def _check_inputs(self) -> bool:
        """Say what is wrong with the inputs (one sentence), offering pad/cut for different lengths."""
        if self.snapshot is None:
            return False
        if not self.corrupted_field.text():
            self._show_problem("Type a corrupted prompt above: the clean one with the detail that matters changed.")
            return False
        try:
            clean, corrupted = self.prompts()
        except ValueError as error:  # letters the tokenizer lacks
            self._show_problem(str(error))
            return False
        try:
            check_same_length(clean, corrupted)
        except ValueError as error:  # different token counts: say what aligns, offer to pad or cut
            self._show_problem(alignment_sentence(error), offer_alignment=bool(clean and corrupted))
            return False
        note = ""
        if self.aligned is not None:
            note = f"Both prompts now have {len(self.aligned[0])} tokens (aligned at the end)."
        self._show_problem(note, error=False)
        return True

    def _show_problem(self, text: str, offer_alignment: bool = False, error: bool = True) -> None:
        self.problem.setText(ERROR_STYLE.format(text) if error and text else text)
        self.problem.setVisible(bool(text))
        self.pad_button.setVisible(offer_alignment)
        self.cut_button.setVisible(offer_alignment)

    def _align(self, pad: bool) -> None:
        clean, corrupted = self.prompts()
        if pad:
            self.aligned = pad_to_same_length(clean, corrupted, pad_id(self.session.tokenizer))
        else:
            self.aligned = cut_to_same_length(clean, corrupted)
        self._check_inputs()

    # -- preparing and sweeping -----------------------------------------------------------------------
    def _on_run_clicked(self) -> None:
        if self.job is not None:
            return
        if self.estimate is not None and self.pair is not None and self.run_button.text() != "Run sweep":
            self._start_sweep()  # the second click on a long sweep's "Start anyway"
            return
        if not self._check_inputs():
            return
        try:
            answer = picked_token(self.session.tokenizer, self.answer_field.text())
            wrong = picked_token(self.session.tokenizer, self.wrong_field.text())
        except ValueError as error:
            self._show_problem(str(error))
            return
        clean, corrupted = self.prompts()
        model, kind, batch_size = self.model, self.kind(), self.batch_size

        def prepare(report, cancelled):
            pair = _pair(model, clean, corrupted, answer, wrong)
            return pair, estimate_sweep(model, pair.n_tokens, kind, batch_size)

        self.status.setText("Running both prompts and timing one batch…")
        self._start_job(prepare, self._on_prepared)

    def kind(self) -> str:
        return self.kind_combo.currentData()

    def _on_prepared(self, job: BackgroundJob) -> None:
        self.pair, self.estimate = job.result
        estimate = self.estimate
        cost = (
            f"{estimate.forward_passes} patched runs in {estimate.batches} batches of up to "
            f"{estimate.batch_size}: about {_duration(estimate.seconds)}."
        )
        if estimate.seconds > CONFIRM_SECONDS:
            self.status.setText(f"{cost} That is long; press <b>Start anyway</b> to run it, or change the prompts.")
            self.run_button.setText(f"Start anyway ({_duration(estimate.seconds)})")
            return
        self.status.setText(cost)
        self._start_sweep()

    def _start_sweep(self) -> None:
        model, pair, kind, batch_size, cancel = self.model, self.pair, self.kind(), self.batch_size, self._cancel
        self.run_button.setText("Run sweep")
        self.progress.setRange(0, self.estimate.forward_passes)
        self.progress.setValue(0)
        self.progress.show()
        self._start_job(lambda report, cancelled: sweep(model, pair, kind, batch_size, report, cancel), self._on_swept)

    def _start_job(self, work, on_done) -> None:
        self._cancel.clear()
        job = self.job = panel_job(self, work, lambda job: self._on_job_finished(job, on_done))
        job.progress.connect(self._on_progress)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        job.start()

    def _on_progress(self, done: int, _total: int) -> None:
        self.progress.setValue(int(done))

    def cancel(self) -> None:
        """Stop after the batch in progress; what was drawn before stays."""
        if self.job is not None:
            self._cancel.set()
            self.job.cancel()

    def _on_job_finished(self, job: BackgroundJob, on_done) -> None:
        self.job = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.hide()
        if job.error is not None:
            self.status.setText(ERROR_STYLE.format(job.error))
        elif self._cancel.is_set() or getattr(job.result, "cancelled", False):
            self.run_button.setText("Run sweep")
            self.status.setText("Sweep cancelled; the picture below is the last finished sweep, unchanged.")
        else:
            on_done(job)  # may start the sweep after its preparation
        if self.job is None:
            self.settled.emit()

    def _on_swept(self, job: BackgroundJob) -> None:
        result = self.result = job.result
        pair = self.pair
        if result.kind == "heads":
            columns = [str(head) for head in range(result.scores.shape[1])]
            self.heatmap.set_column_name("head")
        else:
            columns = position_labels(self.snapshot.vocab_labels, pair)
            self.heatmap.set_column_name("position (clean→corrupted where they differ)")
        self.heatmap.set_matrix(
            result.scores, (-1.0, 1.0), [f"layer {layer}" for layer in range(result.scores.shape[0])], columns
        )
        best = np.unravel_index(np.nanargmax(result.scores), result.scores.shape)
        self.status.setText(
            f"Clean run {pair.clean_score:.3f}, corrupted run {pair.corrupted_score:.3f} ({self.measure()}). "
            f"{result.total} patched runs took {result.seconds:.1f} s; the strongest single patch, "
            f"{self._place(*best)}, brings back {100 * result.scores[best]:.0f}% of the clean answer."
            + (
                ERROR_STYLE.format(
                    f" The two runs differ by only {gap:.2f}, so these percentages are mostly noise: "
                    f"pick an answer and a token against it that the prompts tell apart."
                )
                if (gap := abs(pair.clean_score - pair.corrupted_score)) < CLEAR_GAP
                else ""
            )
        )

    def measure(self) -> str:
        pair = self.pair
        answer = f"‘{self.vocab_label(pair.answer)}’"
        return f"logit {answer}" if pair.wrong is None else f"logit {answer} − ‘{self.vocab_label(pair.wrong)}’"

    def _place(self, layer: int, index: int) -> str:
        if self.result.kind == "heads":
            return f"layer {layer} head {index}"
        return f"the stream entering layer {layer} at position {index}"

    def _on_cell_hovered(self, layer: int, index: int) -> None:
        if self.result is None or layer < 0:
            return
        self.detail.setText(
            f"Patching <b>{self._place(layer, index)}</b> from the clean run restores "
            f"{100 * self.result.scores[layer, index]:.0f}% of the clean {self.measure()}."
        )

    def _apply_theme(self) -> None:
        self.heatmap.set_theme(self.dark)


def _pair(model, clean, corrupted, answer, wrong) -> PatchingPair:
    """The pair to sweep; without an answer, the clean run's prediction against the corrupted run's."""
    if answer is None or wrong is None:
        clean_guess = int(model.trace(clean)["logits"][0, -1].argmax())
        corrupted_guess = int(model.trace(corrupted)["logits"][0, -1].argmax())
        answer = clean_guess if answer is None else answer
        if wrong is None and corrupted_guess != answer:
            wrong = corrupted_guess
    return patching_pair(model, clean, corrupted, answer, wrong)


def position_labels(vocab_labels, pair: PatchingPair) -> list[str]:
    clean, corrupted = pair.clean.ids[0].tolist(), pair.corrupted.ids[0].tolist()
    return [vocab_labels[a] if a == b else f"{vocab_labels[a]}→{vocab_labels[b]}" for a, b in zip(clean, corrupted)]


def alignment_sentence(error: ValueError) -> str:
    """The core's sentence about different token counts, its advice put in terms of this panel's buttons."""
    said = str(error)
    if " Pick words" in said:
        said = said[: said.index(" Pick words")]
    return (
        f"{said} Pick words of the same token count, or press <b>Pad the shorter</b> (spaces added at its "
        f"start) or <b>Cut the longer</b> (its first tokens dropped)."
    )


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 90 else f"{seconds / 60:.1f} min"
