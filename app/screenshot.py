"""`--screenshot`: wait until the window has drawn the newest prompt everywhere, save its picture, quit.

Used by app.main's start-up steps and by the studio's (`--train-steps`), so neither imports the other.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

SETTLE_MS = 150  # after the last panel is drawn, let layouts settle before a picture is taken


def when_drawn(window, callback: Callable[[], None]) -> None:
    """Call `callback` once, when the newest prompt has been traced and every visible panel redrawn."""
    called = False

    def check(*_ignored) -> None:
        nonlocal called
        if called or window.controller.busy or window.snapshot is None:
            return
        called = True
        window.drawn.disconnect(check)
        QTimer.singleShot(SETTLE_MS, callback)

    window.drawn.connect(check)
    QTimer.singleShot(0, check)  # already drawn (nothing left to wait for)?


def save_picture_and_quit(window, path: str) -> None:
    """Save the window's picture to `path` and end the application (exit status 1 if it could not)."""
    ok = window.save_picture(path)
    print(f"Saved a picture of the window to {path}" if ok else f"Could not write {path}", file=sys.stderr)
    QApplication.instance().exit(0 if ok else 1)
