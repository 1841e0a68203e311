"""When something unexpected breaks: show what happened, offer to save the details, keep running.

`install_crash_handler()` replaces sys.excepthook and threading.excepthook. PySide6 hands every
exception that escapes Python code called from Qt to sys.excepthook: slots, timers, virtual overrides
such as paintEvent, and QThread.run on a worker thread. Errors from any thread are forwarded to the
GUI thread through a queued signal, where one dialog collects them. The same error again (a paintEvent
that fails on every repaint, say) is counted, not repeated.
"""

from __future__ import annotations

import platform
import sys
import threading
import traceback
from datetime import datetime
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MAX_REPORTS = 20  # distinct errors kept in one dialog; later ones are only counted


class CrashDialog(QDialog):
    """One window listing the unexpected errors of this run, with Save and Copy; it never blocks the app."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle("Attention Lab: something went wrong")
        self.headline = QLabel(objectName="crashHeadline")
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        explanation = QLabel(
            "Attention Lab hit an unexpected error. The window keeps working, but the last "
            "action may not have finished. To report it, save these details and send the file "
            "with a sentence on what you were doing."
        )
        explanation.setWordWrap(True)
        self.details = QPlainTextEdit(readOnly=True, objectName="crashDetails")
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)  # a traceback reads line by line
        self.details.setMinimumSize(720, 320)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.save_button = QPushButton("Save details…", objectName="crashSaveButton")
        self.copy_button = QPushButton("Copy", objectName="crashCopyButton")
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button.clicked.connect(self._ask_and_save)
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.details.toPlainText()))
        buttons.rejected.connect(self.hide)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(explanation)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        self._reports: dict[str, str] = {}  # traceback -> the first report of it (with its time), in order
        self._repeats: dict[str, int] = {}  # traceback -> how many times it happened
        self._dropped = 0  # errors after the first MAX_REPORTS distinct ones

    def add_report(self, report: str, summary: str = "") -> None:
        """Add one error (`summary`: its last line, e.g. "ValueError: ..."; shown in bold at the top).
        A report is its time on the first line, then the traceback; the same traceback again is counted."""
        key = report.partition("\n")[2] or report
        if key in self._repeats:
            self._repeats[key] += 1
        elif len(self._reports) >= MAX_REPORTS:
            self._dropped += 1
        else:
            self._reports[key] = report
            self._repeats[key] = 1
        count = sum(self._repeats.values()) + self._dropped
        what = summary or report.strip().splitlines()[-1]
        more = f" ({count} errors so far)" if count > 1 else ""
        self.headline.setText(f"<b>{_escape(what)}</b>{more}")
        self.details.setPlainText(self.text())

    def text(self) -> str:
        """Everything the dialog shows, as saved: where it ran, then each error with its traceback."""
        parts = [environment()]
        for key, report in self._reports.items():
            times = self._repeats[key]
            parts.append(report + (f"\n(this happened {times} times)" if times > 1 else ""))
        if self._dropped:
            parts.append(f"... and {self._dropped} more errors, not listed.")
        return ("\n" + "-" * 72 + "\n").join(parts)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.text(), encoding="utf-8")
        return path

    def _ask_and_save(self) -> None:
        name = f"attention-lab-error-{datetime.now():%Y%m%d-%H%M%S}.txt"
        path, _ = QFileDialog.getSaveFileName(self, "Save the error details", str(Path.home() / name), "Text (*.txt)")
        if not path:
            return
        try:
            self.save(path)
        except OSError as error:
            QMessageBox.warning(
                self,
                "Could not save",
                f"The details could not be written to {path}: "
                f"{error.strerror or error}. Try another folder, or use Copy.",
            )


class CrashReporter(QObject):
    """Lives on the GUI thread; `report` may be emitted from any thread."""

    report = Signal(str, str)  # (the report with its traceback, its one-line summary)

    def __init__(self) -> None:
        super().__init__()
        self.dialog: CrashDialog | None = None
        self._showing = False  # an error raised while the dialog itself is being shown is not shown again
        self.report.connect(self._show)

    def _show(self, text: str, summary: str) -> None:
        if self._showing:
            return
        self._showing = True
        try:
            if self.dialog is None:
                self.dialog = CrashDialog(QApplication.activeWindow())
                self.dialog.destroyed.connect(self._forget_dialog)  # closed along with its window
            self.dialog.add_report(text, summary)
            self.dialog.show()
            self.dialog.raise_()
        finally:
            self._showing = False

    def _forget_dialog(self) -> None:
        self.dialog = None


def format_report(kind, value, tb) -> str:
    return f"{datetime.now():%Y-%m-%d %H:%M:%S}\n" + "".join(traceback.format_exception(kind, value, tb)).rstrip()


def summarise(kind, value) -> str:
    """The error's last traceback line ("ValueError: ..."), cut to a readable length."""
    line = "".join(traceback.format_exception_only(kind, value)).strip().splitlines()[-1]
    return line if len(line) <= 300 else line[:297] + "..."


def environment() -> str:
    """Versions worth knowing when reading a report."""
    from importlib.metadata import PackageNotFoundError, version

    import numpy
    import torch

    try:
        ours = version("attention-lab")
    except PackageNotFoundError:  # run from a source folder that was never installed
        ours = "(not installed)"
    return (
        f"Attention Lab {ours} on Python {platform.python_version()}, PySide6 {pyside_version}, "
        f"torch {torch.__version__}, numpy {numpy.__version__}, {platform.platform()}"
    )


def install_crash_handler() -> CrashReporter:
    reporter = CrashReporter()

    def on_exception(kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        if issubclass(kind, SystemExit):
            return
        report = format_report(kind, value, tb)
        sys.stderr.write(report + "\n")
        reporter.report.emit(report, summarise(kind, value))

    sys.excepthook = on_exception
    threading.excepthook = lambda args: on_exception(args.exc_type, args.exc_value, args.exc_traceback)
    return reporter


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
