"""Telling the user what went wrong, where they are looking: the status bar and one message box.

errors = ErrorDisplay(window)
errors.show_error("Could not open the checkpoint", "model.safetensors is cut short.")
"""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QMessageBox

ERROR_SHOWN_MS = 15000  # how long the status bar keeps a failure's first line


class ErrorDisplay:
    def __init__(self, window: QMainWindow) -> None:
        self._window = window
        self._box: QMessageBox | None = None  # made on the first failure, then reused

    def show_error(self, title: str, text: str) -> None:
        """A message where the user is looking; not modal, so nothing waits on it."""
        self._window.statusBar().showMessage(f"{title}: {text.splitlines()[0]}", ERROR_SHOWN_MS)
        if self._box is None:  # one box, reused: a second failure replaces the first message
            self._box = QMessageBox(QMessageBox.Icon.Warning, "", "", QMessageBox.StandardButton.Ok, self._window)
            self._box.setObjectName("errorBox")
        self._box.setWindowTitle(title)
        self._box.setText(text)
        self._box.open()

    def show_notice(self, text: str) -> None:
        """A notice from the controller ("the prompt is empty", "the first tokens are cut"); "" takes it down."""
        if text:
            self._window.statusBar().showMessage(text)
        else:
            self._window.statusBar().clearMessage()
