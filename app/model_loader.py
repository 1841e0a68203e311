"""Slow model work off the GUI thread: opening a model, asking the Hub a size, downloading.

    job = BackgroundJob(lambda report, cancelled: load_checkpoint_model(folder))
    job.progress.connect(progress_bar_update)      # (done, total) as the work reports it
    job.finished.connect(on_done)                  # then job.result, or job.error: a sentence for the user
    job.start()

The work is a plain function of two arguments: `report(done, total)` to say how far it got and
`cancelled()` to ask whether the user pressed Cancel (core.files.hub.download takes exactly these). Only its
result, a sentence, or numbers cross back to the GUI thread. The result is read once the job has
finished (its `finished` signal), so whoever handles it knows the job is over.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal

# What a user's file, a full disk or a lost connection can raise while a model is opened or fetched;
# anything else is a bug and goes to the crash report.
USER_ERRORS = (ValueError, OSError, RuntimeError, KeyError, OverflowError, MemoryError)
REPORTS_PER_JOB = 400  # progress is passed on in steps of 1/400 of the total: smooth, and never a flood

Work = Callable[[Callable[[int, int], None], Callable[[], bool]], object]


class BackgroundJob(QThread):
    progress = Signal(object, object)  # (done, total): bytes for a download

    def __init__(self, work: Work, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.work = work
        self.result: object = None  # what the work returned
        self.error: str | None = None  # or the sentence saying why it failed
        self._cancel = threading.Event()
        self._last_reported = -1

    def cancel(self) -> None:
        """Ask the work to stop at its next check (a download: after the next piece arrives)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        try:
            self.result = self.work(self._report, self._cancel.is_set)
        except USER_ERRORS as error:
            self.error = str(error) or type(error).__name__
        except Exception:  # a bug: the crash report shows it, and the window says the work failed
            sys.excepthook(*sys.exc_info())
            self.error = "Something went wrong inside Attention Lab; the crash report has the details."

    def _report(self, done: int, total: int) -> None:
        step = max(1, total // REPORTS_PER_JOB)
        if done == total or done // step != self._last_reported // step:
            self._last_reported = done
            self.progress.emit(done, total)
