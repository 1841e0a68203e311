"""What the "why this next token?" panels share: the model that made the snapshot, and token pickers.

These panels (logit lens, direct attribution, patching, neurons, KV cache) read the snapshot's trace
like every other panel, and also the weights of the model that made it (the final norm and output head
turn a residual stream into logits). They get the model from the controller, and draw only a snapshot
of that model: while a newly opened model's first snapshot is on its way they keep their last picture.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import shiboken6
import torch
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLineEdit, QWidget

from app.state.snapshot_maker import trace_threads
from app.model_loader import BackgroundJob
from app.selection import Selection
from core.explain.attribution import token_id

from .view_base import SnapshotView


class ExplainView(SnapshotView):
    FOLLOWS_SELECTION = False  # each has its own layer/cell/neuron pickers

    def __init__(self, selection: Selection, controller, parent: QWidget | None = None) -> None:
        """`controller`: anything with a `.session` (app.state.model_in_use.ModelInUse: `.model`, `.tokenizer`)."""
        super().__init__(selection, parent)
        self.controller = controller
        self._threads: tuple[object, int] | None = None  # (model, torch threads for it): counting its
        #                                                  parameters every keystroke cost ~10 ms

    @property
    def session(self):
        return self.controller.session

    @property
    def model(self):
        return self.controller.session.model

    def show_snapshot(self, snapshot) -> None:
        if snapshot.config != self.session.config:
            return  # a snapshot of the model before: the new model's own snapshot comes next
        with self.computing():
            super().show_snapshot(snapshot)

    @contextmanager
    def computing(self):
        """Torch work on the GUI thread with as many threads as a trace of this model gets: for a small
        model one, so that no operation waits for a core the trace worker or another program holds (on a
        busy 2-core machine the logit lens took 25 ms instead of 2 with a second thread)."""
        model = self.model
        if self._threads is None or self._threads[0] is not model:
            self._threads = (model, trace_threads(model))
        threads = torch.get_num_threads()
        torch.set_num_threads(self._threads[1])
        try:
            yield
        finally:
            torch.set_num_threads(threads)

    def vocab_label(self, token: int) -> str:
        """A readable label for a vocabulary id (spaces and newlines made visible)."""
        return self.snapshot.vocab_labels[int(token)]

    def prompt_ids(self) -> list[int]:
        return [int(i) for i in np.asarray(self.snapshot.trace.ids[0])]


def token_picker(object_name: str, placeholder: str) -> QLineEdit:
    """A field for one token's text, e.g. ' John' (with its leading space)."""
    field = QLineEdit(objectName=object_name, placeholderText=placeholder, clearButtonEnabled=True)
    field.setToolTip("Type the token exactly as the tokenizer writes it, leading space included (' John').")
    return field


def picked_token(tokenizer, text: str) -> int | None:
    """The id of the token typed in a picker; None when the field is empty. ValueError (a sentence) if the
    text is not exactly one token of the vocabulary."""
    if text == "":
        return None
    return token_id(tokenizer, text)


QUIT_WATCHED = "explainJobsStopAtQuit"  # an application property: _stop_running_jobs is connected to it
_running: set[BackgroundJob] = set()  # panels' jobs not finished yet: the application waits for them at quit


def panel_job(panel: QWidget, work, on_finished) -> BackgroundJob:
    """A BackgroundJob for a panel's slow work (a patching sweep, a big model's lens), owned by the
    application so that closing the panel never destroys a running thread: the work is told to stop,
    and `on_finished(job)` is called only while the panel still exists."""
    app = QCoreApplication.instance()
    if not app.property(QUIT_WATCHED):  # once per application (Qt.UniqueConnection refuses a plain function)
        app.aboutToQuit.connect(_stop_running_jobs)
        app.setProperty(QUIT_WATCHED, True)
    job = BackgroundJob(work, app)
    _running.add(job)

    def finished() -> None:
        _running.discard(job)
        job.deleteLater()
        if shiboken6.isValid(panel):
            on_finished(job)

    job.finished.connect(finished)
    panel.destroyed.connect(job.cancel)
    return job


def _stop_running_jobs() -> None:
    for job in list(_running):
        job.cancel()
        job.wait()
