"""From prompt text to a Snapshot: tokenize, fit to the context, trace, label. No Qt: the controller's
worker thread runs it, and so can a script or a test.

    snapshot, notice = build_snapshot(model_in_use, "The cat sat", Intervention())
"""

from __future__ import annotations

import torch

from core import Intervention, Trace
from core.model.footprint import traced_length

from .model_in_use import ModelInUse
from .snapshot import Snapshot

EMPTY_PROMPT_MESSAGE = "The prompt is empty: type a few words and watch the model read them."
SMALL_MODEL_PARAMETERS = 20_000_000  # up to this size a trace is many small operations: one thread is fastest
DEFAULT_THREADS = torch.get_num_threads()


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


def prompt_ids(session: ModelInUse, prompt: str) -> tuple[list[int], list[int], str]:
    """(ids that fit the context, ids cut off its front, notice); no ids when nothing is left to read."""
    ids, notice = encode_prompt(session.tokenizer, prompt)
    if not ids:
        return [], [], notice or EMPTY_PROMPT_MESSAGE
    ids, cut = fit_to_context(ids, traced_length(session.config))
    if cut:
        notice = (
            f"The prompt has {len(ids) + len(cut)} tokens but the explorer reads at most "
            f"{len(ids)} with this model: the first {len(cut)} are cut (shown struck through). " + notice
        ).strip()
    return ids, cut, notice


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
        self._what_if: tuple | None = None  # (session, trace) of the last what-if

    def make(self, session: ModelInUse, prompt: str, intervention: Intervention) -> tuple[Snapshot | None, str]:
        """(snapshot, notice) for one prompt; snapshot is None when nothing is left to read."""
        ids, cut, notice = prompt_ids(session, prompt)
        if not ids:
            return None, notice
        return self.make_from_ids(session, ids, intervention, cut), notice

    def make_from_ids(
        self, session: ModelInUse, ids: list[int], intervention: Intervention, cut: list[int] = ()
    ) -> Snapshot:
        """The snapshot of token ids that fit the context (`cut`: those left off the front to fit)."""
        intact = self._intact_trace(session, ids)
        if intervention.is_empty:
            trace, baseline = intact, None
        else:
            trace, baseline = self._what_if_trace(session, ids, intervention), intact
        vocabulary = session.vocabulary()
        return Snapshot(
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

    def _intact_trace(self, session: ModelInUse, ids: list[int]) -> Trace:
        key = (session, tuple(ids))  # a session's weights never change while it is shown
        if key != self._intact_key:
            previous = self._intact if self._intact_key and self._intact_key[0] is session else None
            self._intact, self._intact_key = session.model.trace(ids, previous=previous), key
        return self._intact

    def _what_if_trace(self, session: ModelInUse, ids: list[int], intervention: Intervention) -> Trace:
        """The what-if's trace; it starts from the last one when that was the same what-if of this model
        (run_trace checks the what-if, and traces in full one that depends on the whole prompt)."""
        previous = self._what_if[1] if self._what_if and self._what_if[0] is session else None
        trace = session.model.trace(ids, intervention=intervention, previous=previous)
        self._what_if = (session, trace)
        return trace


def build_snapshot(session: ModelInUse, prompt: str, intervention: Intervention) -> tuple[Snapshot | None, str]:
    """One snapshot, nothing remembered (for scripts and tests)."""
    return SnapshotMaker().make(session, prompt, intervention)


def _bytes(tokenizer, token_id: int) -> bytes:
    return tokenizer.token_bytes(token_id) if token_id < tokenizer.vocab_size else b""


def trace_threads(model) -> int:
    """Threads torch may use for one trace. A small model's operations are too small to share, and a
    second thread would wait for a core the window (or another program) is using: on a busy 2-core
    machine that made the default model's first trace take a second instead of ~20 ms."""
    return 1 if model.num_params() <= SMALL_MODEL_PARAMETERS else DEFAULT_THREADS
