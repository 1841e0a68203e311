"""The explorer's engine room: the current model, prompt and what-if, and a worker that traces them.

GUI thread                          worker thread
set_prompt / set_intervention  ->   latest request only (older waiting ones are dropped)
                                    tokenize -> model.trace -> immutable Snapshot
snapshot_ready(Snapshot)       <-   result, dropped if a newer request was made meanwhile

Only immutable things cross the thread: a frozen TraceRequest in, a frozen Snapshot out.
"""
from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass

import torch
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal

from core import Intervention, Trace
from core.model.footprint import traced_length

from .sessions import ModelSession
from .snapshot import Snapshot

EMPTY_PROMPT_MESSAGE = "The prompt is empty: type a few words and watch the model read them."
SMALL_MODEL_PARAMETERS = 20_000_000  # up to this size a trace is many small operations: one thread is fastest
DEFAULT_THREADS = torch.get_num_threads()


# -- from prompt text to a Snapshot (pure; runs on the worker thread) -----------------------------------
def encode_prompt(tokenizer, text: str) -> tuple[list[int], str]:
    """(ids, notice). Characters the tokenizer cannot encode are left out, and the notice names them."""
    try:
        return list(tokenizer.encode(text)), ""
    except (ValueError, KeyError):
        pass
    unknown = sorted({char for char in set(text) if not _encodable(tokenizer, char)})
    kept = "".join(char for char in text if char not in unknown)
    shown = " ".join(repr(char) for char in unknown[:8]) + (" …" if len(unknown) > 8 else "")
    notice = f"Left out characters this model's tokenizer does not know: {shown}"
    return (list(tokenizer.encode(kept)) if kept else []), notice


def _encodable(tokenizer, char: str) -> bool:
    try:
        tokenizer.encode(char)
    except (ValueError, KeyError):
        return False
    return True


def fit_to_context(ids: list[int], context_length: int) -> tuple[list[int], list[int]]:
    """(kept, cut): keep the LAST context_length tokens, since they decide the next token."""
    if len(ids) <= context_length:
        return ids, []
    cut = len(ids) - context_length
    return ids[cut:], ids[:cut]


class SnapshotMaker:
    """Builds snapshots, remembering the last intact trace: ticking heads on an unchanged prompt then
    costs one forward pass (the what-if), not two (the what-if and its intact baseline).

    The last intact trace (and the last what-if trace) of a model is also where the next trace of
    that model starts: a keystroke that adds a character at the end computes only the new tokens
    (core/model/kv_cache.py), whatever the length of the prompt. Traces are immutable, so the snapshots
    handed to the GUI thread may keep sharing their tensors.
    """

    def __init__(self) -> None:
        self._intact_key: tuple | None = None  # (session, ids) of the remembered trace
        self._intact: Trace | None = None
        self._what_if: tuple | None = None     # (session, trace) of the last what-if

    def make(self, session: ModelSession, prompt: str, intervention: Intervention) -> tuple[Snapshot | None, str]:
        """(snapshot, notice) for one prompt; snapshot is None when nothing is left to read."""
        ids, notice = encode_prompt(session.tokenizer, prompt)
        if not ids:
            return None, notice or EMPTY_PROMPT_MESSAGE
        ids, cut = fit_to_context(ids, traced_length(session.config))
        if cut:
            notice = (f"The prompt has {len(ids) + len(cut)} tokens but the explorer reads at most "
                      f"{len(ids)} with this model: the first {len(cut)} are cut (shown struck through). "
                      + notice).strip()
        intact = self._intact_trace(session, ids)
        if intervention.is_empty:
            trace, baseline = intact, None
        else:
            trace, baseline = self._what_if_trace(session, ids, intervention), intact
        vocabulary = session.vocabulary()
        snapshot = Snapshot(
            trace=trace,
            token_labels=tuple(vocabulary.labels[i] for i in ids),
            config=session.config,
            vocab_embeddings=vocabulary.embeddings,
            vocab_labels=vocabulary.labels,
            vocab_projection=vocabulary.projection,
            baseline=baseline,
            truncated=len(cut),
            step=session.step,
            cut_labels=tuple(vocabulary.labels[i] for i in cut),
            token_bytes=tuple(_bytes(session.tokenizer, i) for i in ids),
        )
        return snapshot, notice

    def _intact_trace(self, session: ModelSession, ids: list[int]) -> Trace:
        key = (session, tuple(ids))  # a session's weights never change while it is shown
        if key != self._intact_key:
            previous = self._intact if self._intact_key and self._intact_key[0] is session else None
            self._intact, self._intact_key = session.model.trace(ids, previous=previous), key
        return self._intact

    def _what_if_trace(self, session: ModelSession, ids: list[int], intervention: Intervention) -> Trace:
        """The what-if's trace; it starts from the last one when that was the same what-if of this model
        (run_trace checks the what-if, and traces in full one that depends on the whole prompt)."""
        previous = self._what_if[1] if self._what_if and self._what_if[0] is session else None
        trace = session.model.trace(ids, intervention=intervention, previous=previous)
        self._what_if = (session, trace)
        return trace


def build_snapshot(session: ModelSession, prompt: str, intervention: Intervention) -> tuple[Snapshot | None, str]:
    """One snapshot, nothing remembered (for scripts and tests)."""
    return SnapshotMaker().make(session, prompt, intervention)


def _bytes(tokenizer, token_id: int) -> bytes:
    return tokenizer.token_bytes(token_id) if token_id < tokenizer.vocab_size else b""


def trace_threads(model) -> int:
    """Threads torch may use for one trace. A small model's operations are too small to share, and a
    second thread would wait for a core the window (or another program) is using: on a busy 2-core
    machine that made the default model's first trace take a second instead of ~20 ms."""
    return 1 if model.num_params() <= SMALL_MODEL_PARAMETERS else DEFAULT_THREADS


# -- the worker ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TraceRequest:
    number: int                 # increases with every request; the newest one wins
    session: ModelSession
    prompt: str
    intervention: Intervention


class TraceWorker(QThread):
    """Waits for the newest request, traces it, reports. A request that waited behind it is replaced."""

    finished_request = Signal(int, object, str)  # (request number, Snapshot or None, notice)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._wakeup = threading.Condition()
        self._maker = SnapshotMaker()  # used on the worker thread only
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
                snapshot, notice = self._maker.make(request.session, request.prompt, request.intervention)
            except Exception as error:  # a model that fails must not take the window down
                snapshot = None
                notice = f"The model could not read this prompt: {error}"
                traceback.print_exc()
            self.finished_request.emit(request.number, snapshot, notice)


# -- the controller -------------------------------------------------------------------------------
class Controller(QObject):
    """Holds the model session, the prompt and the what-if; every change produces one new Snapshot."""

    snapshot_ready = Signal(object)    # Snapshot: every visible view redraws from it
    session_changed = Signal(object)   # ModelSession: a different model is shown
    message = Signal(str)              # a sentence for the status bar

    def __init__(self, session: ModelSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._prompt = ""
        self._intervention = Intervention()
        self._latest = 0          # number of the newest request
        self._delivered = 0       # number of the newest request whose answer came back
        self._snapshot: Snapshot | None = None
        self._notice_shown = False  # the last answer put a notice in the status bar (taken down by the next)
        self._worker = TraceWorker()
        self._worker.finished_request.connect(self._on_request_finished)
        self._worker.start()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)  # never leave the thread running at exit

    # -- what is shown ------------------------------------------------------------------------
    @property
    def session(self) -> ModelSession:
        return self._session

    @property
    def prompt(self) -> str:
        return self._prompt

    @property
    def intervention(self) -> Intervention:
        return self._intervention

    @property
    def snapshot(self) -> Snapshot | None:
        """The newest snapshot delivered (None before the first)."""
        return self._snapshot

    @property
    def busy(self) -> bool:
        """True while the newest request has not been answered yet."""
        return self._delivered != self._latest

    # -- changes ----------------------------------------------------------------------------
    def set_session(self, session: ModelSession) -> None:
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

    def refresh(self) -> None:
        """Ask for a new snapshot of the current state (an empty prompt asks for nothing)."""
        self._latest += 1
        if not self._prompt:
            self._delivered = self._latest  # nothing to wait for; views keep their last picture
            self.message.emit(EMPTY_PROMPT_MESSAGE)
            self._notice_shown = True
            return
        self._worker.submit(TraceRequest(self._latest, self._session, self._prompt, self._intervention))

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
            self._snapshot = snapshot
            self.snapshot_ready.emit(snapshot)

    @staticmethod
    def _fits(intervention: Intervention, session: ModelSession) -> bool:
        config = session.config
        heads = all(layer < config.n_layers and head < config.n_heads for layer, head in intervention.ablate_heads)
        patterns = all(layer < config.n_layers and head < config.n_heads for layer, head in intervention.patterns)
        return heads and patterns
