"""The classroom needs only its narrow context, never the explorer window: built here on a bare QMainWindow
that has the context's parts and nothing of MainWindow's own, a lesson's "try this", its live numbers,
presenter mode and a class file all work."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from app.controller import Controller
from app.error_display import ErrorDisplay
from app.lessons.classroom import Classroom
from app.lessons.context import ClassroomContext
from app.selection import Selection
from app.views.output_view import OutputView
from app.views.prompt_view import PromptView
from app.views.whatif_view import WhatIfView

WAIT_MS = 20000
LESSONS = Path(__file__).resolve().parents[2] / "app" / "lessons"


class BareHost(QMainWindow):
    """Docks, a File menu and a status bar; the three panels the lessons drive; no attribute of MainWindow's."""

    drawn = Signal(object)

    def __init__(self, session) -> None:
        super().__init__()
        self.selection = Selection(session.config.n_layers, session.config.n_heads)
        self.controller = Controller(session, self)
        self.panels: list[QWidget] = []
        self.dark = False
        self.prompt, self.output, self.whatif = (
            PromptView(self.selection),
            OutputView(self.selection),
            WhatIfView(self.selection),
        )
        for panel in (self.prompt, self.output, self.whatif):
            self.dock(panel)
        self.prompt.prompt_changed.connect(self.controller.set_prompt)
        self.whatif.intervention_changed.connect(self.controller.set_intervention)
        self.controller.snapshot_ready.connect(self._draw)
        self.file_menu = self.menuBar().addMenu("&File")
        self.file_menu.addAction("Quit")

    def dock(self, widget, title=None, area=Qt.DockWidgetArea.RightDockWidgetArea, tooltip=None, tab_with=None):
        dock = QDockWidget(title or widget.TITLE, self)
        dock.setObjectName(f"{widget.objectName()}Dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.panels.append(widget)
        widget.set_theme(self.dark)
        return dock

    def dock_lazy(self, build, name, title, tooltip, area=Qt.DockWidgetArea.RightDockWidgetArea, tab_with=None):
        return self.dock(build(), title, area)

    def _draw(self, snapshot) -> None:
        for panel in self.panels:
            panel.show_snapshot(snapshot)
        self.drawn.emit(snapshot)

    def set_dark(self, dark: bool) -> None:
        self.dark = bool(dark)
        for panel in self.panels:
            panel.set_theme(self.dark)

    def context(self) -> ClassroomContext:
        def no_studio():
            raise AssertionError("no step in this test trains")

        return ClassroomContext(
            controller=self.controller,
            selection=self.selection,
            prompt=self.prompt,
            output=self.output,
            whatif=self.whatif,
            errors=ErrorDisplay(self),
            set_session=self.controller.set_session,
            studio=lambda: None,
            ensure_studio=no_studio,
            is_dark=lambda: self.dark,
            set_dark_theme=self.set_dark,
            zoom=lambda: 1.0,
            add_panel=self.dock,
            add_lazy_panel=self.dock_lazy,
            find_panel=lambda name: self.findChild(QWidget, name),
            drawn=self.drawn,
            modified_badge=QWidget(self),
            file_menu=self.file_menu,
            dock_layout=self,
        )


@pytest.fixture
def host(qapp, qtbot, session):
    host = BareHost(session)
    host.resize(1280, 720)
    host.show()
    yield host
    host.close()
    host.controller.shutdown()


def type_and_wait(qtbot, host, text: str) -> None:
    with qtbot.waitSignal(host.drawn, timeout=WAIT_MS, check_params_cb=lambda _: not host.controller.busy):
        host.prompt.set_text(text)


def test_a_classroom_on_a_bare_window_does_what_its_lessons_say(qtbot, host, tmp_path):
    classroom = Classroom(host.context())
    assert host.file_menu.actions()[0].text() == "Open s&ession…"  # the session files join the File menu
    type_and_wait(qtbot, host, "a cat sat")
    classroom.show_lesson()
    assert classroom.pane.go_to_ids("01-what-is-an-llm", "01-next-token")
    prompt = classroom.pane.step.action.prompt
    with qtbot.waitSignal(host.drawn, timeout=WAIT_MS, check_params_cb=lambda _: not host.controller.busy):
        classroom.perform_try()  # types the step's prompt, as a student would
    assert host.prompt.text() == prompt == host.controller.prompt
    numbers = classroom.numbers_for(classroom.pane.step)
    ids = host.controller.snapshot.trace.ids[0].tolist()
    assert prompt.endswith(host.controller.session.tokenizer.decode(ids))  # the snapshot is of the step's prompt
    assert numbers["n_tokens"] == len(ids) and "top_token" in numbers  # and the numbers are of that snapshot

    classroom.presenter.enter()
    assert host.isFullScreen() and host.menuBar().isHidden()
    classroom.presenter.leave()
    assert not host.isFullScreen() and not host.menuBar().isHidden()

    path = classroom.save_class_file(tmp_path / "bare")
    type_and_wait(qtbot, host, "the mat")
    classroom.open_class_file(path)
    assert host.prompt.text() == prompt
    assert classroom.pane.position_ids() == ("01-what-is-an-llm", "01-next-token")


def test_nothing_in_the_lessons_imports_the_explorer_window():
    for source in LESSONS.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.module not in ("app.window", "app.window_classroom"), source.name
                assert not (node.level and node.module in ("window", "window_classroom")), source.name
