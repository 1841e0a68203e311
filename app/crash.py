"""When something unexpected breaks: show what happened, offer to save the details, keep running.

`install_crash_handler()` replaces sys.excepthook and threading.excepthook. Errors from any thread
are forwarded to the GUI thread through a queued signal, where one dialog collects them.
"""
from __future__ import annotations

import sys
import threading
import traceback
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QFileDialog, QLabel, QMessageBox,
                               QPlainTextEdit, QVBoxLayout, QWidget)


class CrashDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle("Something went wrong")
        message = QLabel("Attention Lab hit an unexpected error. The window keeps working, but the last "
                         "action may not have finished. If you report this, please include the details below.")
        message.setWordWrap(True)
        self.details = QPlainTextEdit(readOnly=True, objectName="crashDetails")
        self.details.setMinimumSize(640, 300)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Save).clicked.connect(self._ask_and_save)
        buttons.rejected.connect(self.hide)
        layout = QVBoxLayout(self)
        layout.addWidget(message)
        layout.addWidget(self.details)
        layout.addWidget(buttons)

    def add_report(self, report: str) -> None:
        if self.details.toPlainText():
            self.details.appendPlainText("\n" + "-" * 60 + "\n")
        self.details.appendPlainText(report)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.details.toPlainText(), encoding="utf-8")

    def _ask_and_save(self) -> None:
        name = f"attention-lab-error-{datetime.now():%Y%m%d-%H%M%S}.txt"
        path, _ = QFileDialog.getSaveFileName(self, "Save error details", str(Path.home() / name), "Text (*.txt)")
        if not path:
            return
        try:
            self.save(path)
        except OSError as error:
            QMessageBox.warning(self, "Could not save", f"The details could not be written: {error}")


class CrashReporter(QObject):
    """Lives on the GUI thread; `report` may be emitted from any thread."""

    report = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.dialog: CrashDialog | None = None
        self.report.connect(self._show)

    def _show(self, text: str) -> None:
        if self.dialog is None:
            self.dialog = CrashDialog(QApplication.activeWindow())
        self.dialog.add_report(text)
        self.dialog.show()
        self.dialog.raise_()


def format_report(kind, value, tb) -> str:
    return f"{datetime.now():%Y-%m-%d %H:%M:%S}\n" + "".join(traceback.format_exception(kind, value, tb))


def install_crash_handler() -> CrashReporter:
    reporter = CrashReporter()

    def on_exception(kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        report = format_report(kind, value, tb)
        sys.stderr.write(report)
        reporter.report.emit(report)

    sys.excepthook = on_exception
    threading.excepthook = lambda args: on_exception(args.exc_type, args.exc_value, args.exc_traceback)
    return reporter
