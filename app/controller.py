"""The explorer's engine room: the current model, prompt and what-if, and a worker that traces them.

GUI thread                          worker thread
set_prompt / set_intervention  ->   latest request only (older waiting ones are dropped)
  / set_comparison                  tokenize -> model.trace -> immutable Snapshot
                                    (and the corrupted prompt's, while the Compare switch is not on Clean)
snapshot_ready(Snapshot)       <-   result, dropped if a newer request was made meanwhile

Only immutable things cross the thread: a frozen TraceRequest in, a frozen Snapshot out.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass

import torch
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal

from core import Intervention
from core.model.intervention import check_heads

from .state.comparison import ComparedMaker, Comparison
from .state.model_in_use import ModelInUse
from .state.snapshot import Snapshot
from .state.snapshot_maker import EMPTY_PROMPT_MESSAGE, trace_threads


# -- the worker ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TraceRequest:
    number: int  # increases with every request; the newest one wins
    session: ModelInUse
    prompt: str
    intervention: Intervention
    comparison: Comparison = Comparison()  # the second prompt and what the panels show of the two


class TraceWorker(QThread):
    """Waits for the newest request, traces it, reports. A request that waited behind it is replaced."""

    finished_request = Signal(int, object, str)  # (request number, Snapshot or None, notice)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._wakeup = threading.Condition()
        self._maker = ComparedMaker()  # used on the worker thread only
        self._waiting: TraceRequest | None = None
        self._stopping = False

    def submit(self, request: TraceRequest) -> None:
        with self._wakeup:
            self._waiting = request  # an older waiting request is simply forgotten
            self._wakeup.notify()

    def stop(self, timeout_ms: int = 5000) -> bool:
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()
        return self.wait(timeout_ms)

    def run(self) -> None:
        while True:
            with self._wakeup:
                while self._waiting is None and not self._stopping:
                    self._wakeup.wait()
                if self._stopping:
                    return
                request, self._waiting = self._waiting, None
            try:
                torch.set_num_threads(trace_threads(request.session.model))  # this thread's own setting
                snapshot, notice = self._maker.make(
                    request.session, request.prompt, request.intervention, request.comparison
                )
            except Exception as error:  # a model that fails must not take the window down
                snapshot = None
                notice = f"The model could not read this prompt: {error}"
                traceback.print_exc()
            self.finished_request.emit(request.number, snapshot, notice)


# -- the controller -------------------------------------------------------------------------------
class Controller(QObject):
    """Holds the model session, the prompt and the what-if; every change produces one new Snapshot."""

    snapshot_ready = Signal(object)  # Snapshot: every visible view redraws from it
    session_changed = Signal(object)  # ModelInUse: a different model is shown
    comparison_changed = Signal(object)  # Comparison: the second prompt, the Compare switch or pad/cut changed
    message = Signal(str)  # a sentence for the status bar

    def __init__(self, session: ModelInUse, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._prompt = ""
        self._intervention = Intervention()
        self._comparison = Comparison()
        self._latest = 0  # number of the newest request
        self._delivered = 0  # number of the newest request whose answer came back
        self._snapshot: Snapshot | None = None
        self._snapshot_session: ModelInUse = session  # the model that made _snapshot
        self._notice_shown = False  # the last answer put a notice in the status bar (taken down by the next)
        self._worker = TraceWorker()
        self._worker.finished_request.connect(self._on_request_finished)
        self._worker.start()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)  # never leave the thread running at exit

    # -- what is shown ------------------------------------------------------------------------
    @property
    def session(self) -> ModelInUse:
        return self._session

    @property
    def prompt(self) -> str:
        return self._prompt

    @property
    def intervention(self) -> Intervention:
        return self._intervention

    @property
    def comparison(self) -> Comparison:
        """The second (corrupted) prompt every panel can compare with, and which of the two they show."""
        return self._comparison

    @property
    def snapshot(self) -> Snapshot | None:
        """The newest snapshot delivered (None before the first)."""
        return self._snapshot

    @property
    def snapshot_session(self) -> ModelInUse:
        """The model that made `snapshot`: right after a new model is set, the previous one until the new
        model's first snapshot arrives (numbers read from the snapshot must use this model, not `session`)."""
        return self._snapshot_session

    @property
    def busy(self) -> bool:
        """True while the newest request has not been answered yet."""
        return self._delivered != self._latest

    # -- changes ----------------------------------------------------------------------------
    def set_session(self, session: ModelInUse) -> None:
        """Show a different model; a what-if naming heads it lacks is cleared."""
        self._session = session
        if not self._fits(self._intervention, session):
            self._intervention = Intervention()
        self.session_changed.emit(session)
        self.refresh()

    def set_prompt(self, text: str) -> None:
        self._prompt = text
        self.refresh()

    def set_intervention(self, intervention: Intervention) -> None:
        self._intervention = intervention
        self.refresh()

    def set_comparison(self, comparison: Comparison) -> None:
        """A new second prompt, Compare switch or pad/cut. On Clean the clean trace is reused (the worker
        remembers it): only the note on how the prompts line up is new."""
        if comparison == self._comparison:
            return
        self._comparison = comparison
        self.comparison_changed.emit(comparison)
        self.refresh()

    def refresh(self) -> None:
        """Ask for a new snapshot of the current state (an empty prompt asks for nothing)."""
        self._latest += 1
        if not self._prompt:
            self._delivered = self._latest  # nothing to wait for; views keep their last picture
            self.message.emit(EMPTY_PROMPT_MESSAGE)
            self._notice_shown = True
            return
        self._worker.submit(
            TraceRequest(self._latest, self._session, self._prompt, self._intervention, self._comparison)
        )

    def decode_token(self, token_id: int) -> str:
        return self._session.tokenizer.decode([token_id])

    def shutdown(self) -> None:
        """End the worker thread (called when the window closes)."""
        if self._worker.isRunning():
            self._worker.stop()

    @property
    def worker_running(self) -> bool:
        return self._worker.isRunning()

    # -- answers -----------------------------------------------------------------------------
    def _on_request_finished(self, number: int, snapshot: Snapshot | None, notice: str) -> None:
        if number != self._latest:
            return  # a newer request is on its way: this answer is stale
        self._delivered = number
        if notice or self._notice_shown:
            self.message.emit(notice)  # "" takes down the notice about an earlier prompt ("empty", "cut")
        self._notice_shown = bool(notice)
        if snapshot is not None:
            # The newest request was made after the last set_session (which always asks anew): its model.
            self._snapshot, self._snapshot_session = snapshot, self._session
            self.snapshot_ready.emit(snapshot)

    @staticmethod
    def _fits(intervention: Intervention, session: ModelInUse) -> bool:
        try:
            check_heads(intervention, session.config)
        except ValueError:
            return False
        return True
