"""Everything lessons add to the explorer window, wired in one place.

    classroom = Classroom(context)     # the window builds the context (app/window_classroom.py)

Adds the lesson pane, the model-size and residual-stream panels, a Lessons menu (next/back, presenter
mode F5, hand-outs, pictures) and session files in the File menu. The classroom is handed a narrow
context (app/lessons/context.py), never the window. Its jobs live beside it: a step's live numbers
(step_numbers.py), its "try this" (lesson_actions.py), hand-outs (handout_maker.py), class files
(class_file_io.py). Live numbers are computed by core.teaching.lesson_numbers; nothing here does
arithmetic on the model.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from core.teaching.lesson_checks import model_features
from core.teaching.lesson_numbers import LessonContext
from core.teaching.lesson_questions import Question
from core.teaching.lessons import Lesson, LessonError, LessonStep, load_lessons, problems_lesson

from .class_file_io import capture_class_file, restore_class_file
from .context import ClassroomContext
from .handout import Handout, export_panels, export_view, write_handout_pdf
from .handout_maker import HandoutMaker
from .highlight import PanelHighlighter
from .lesson_actions import LessonActions
from .lesson_pane import LessonPane
from .parameter_view import ParameterView
from .presenter import PresenterMode
from .residual_view import ResidualView
from .step_numbers import StepNumbers

LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea


class Classroom(QObject):
    def __init__(self, context: ClassroomContext, lessons: tuple[Lesson, ...] | None = None) -> None:
        super().__init__(context.dock_layout)
        self.context = context
        self.errors = context.errors  # where a failure is told (app/error_display.py)
        self.problems: list[str] = []  # lesson files that could not be read, in words
        try:
            self.lessons = lessons or load_lessons(problems=self.problems)
        except LessonError as error:  # not one lesson readable: open anyway and say why
            self.problems.append(str(error))
            self.lessons = (problems_lesson(self.problems),)
        self.pane = LessonPane(self.lessons)
        self.parameter_view = ParameterView()
        self.highlighter = PanelHighlighter(context.dock_layout, context.find_panel)
        self.presenter = PresenterMode(context, self.pane, self.highlighter)
        self.numbers = StepNumbers(context)
        self.actions = LessonActions(context, self.numbers, self.show_panel)
        self.handouts = HandoutMaker(context, self.numbers, self.actions, self.highlighter)
        self.numbers_stale = True  # a snapshot came while the pane was hidden
        self._add_panels()
        self.lesson_dock.visibilityChanged.connect(self._on_lesson_visibility_changed)
        self._add_menus()
        context.controller.snapshot_ready.connect(self.refresh_numbers)
        context.selection.changed.connect(self.refresh_numbers)
        context.output.sampling_changed.connect(self.refresh_numbers)  # the temperature is in the numbers
        self.pane.step_changed.connect(self._on_step_changed)
        self.pane.open_model_requested.connect(self.open_builtin_model)
        self.pane.set_answerer(self.answer)
        self.pane.try_requested.connect(lambda: self.perform_try())
        context.controller.session_changed.connect(self._on_session_changed)
        self._on_session_changed(context.controller.session)
        context.dock_layout.installEventFilter(self)  # to leave presenter mode before the window saves its layout
        if self.problems:  # a teacher's typo: say which file and what to fix, and keep the rest
            QTimer.singleShot(
                0, lambda: self.errors.show_error("Some lesson files could not be read", "\n\n".join(self.problems))
            )

    def eventFilter(self, watched, event) -> bool:
        if watched is self.context.dock_layout and event.type() == QEvent.Type.Close:
            self.presenter.leave()
        return False

    # -- panels and menus ------------------------------------------------------------------------
    def _add_panels(self) -> None:
        """The lesson behind the what-if tab; the two new plots behind the Q/K/V tab (Lessons ▸ Show the
        lesson, or any step, brings them forward)."""
        context = self.context
        self.lesson_dock = context.add_panel(self.pane, area=LEFT, tab_with="whatIfView")
        self.parameter_dock = context.add_panel(self.parameter_view, area=RIGHT, tab_with="qkvView")
        self.residual_dock = context.add_lazy_panel(  # built when first shown: its plots are slow to make
            lambda: ResidualView(context.selection),
            "residualView",
            ResidualView.TITLE,
            ResidualView.TOOLTIP,
            area=RIGHT,
            tab_with="qkvView",
        )

    @property
    def residual_view(self) -> ResidualView:
        return self.context.find_panel("residualView")

    def _add_menus(self) -> None:
        menu = self.menu = self.context.dock_layout.menuBar().addMenu("&Lessons")  # the classroom's own
        self._action(menu, "Show the &lesson", self.show_lesson, "Ctrl+Shift+L", "Bring the lesson pane forward.")
        self._action(menu, "&Next step", self.pane.go_next, "Ctrl+]", "Go to the next lesson step.")
        self._action(menu, "&Previous step", self.pane.go_back, "Ctrl+[", "Go back one lesson step.")
        menu.addSeparator()
        self.presenter_action = self._action(
            menu,
            "P&resenter mode",
            self.presenter.toggle,
            "F5",
            "Full screen, large text, keyboard only; F5 or Escape to leave.",
        )
        menu.addSeparator()
        self._action(
            menu,
            "Export lesson &hand-out (PDF)…",
            self.ask_export_handout,
            "Ctrl+Shift+H",
            "Save the current lesson as a PDF with this prompt's figures and numbers.",
        )
        self._action(
            menu,
            "Export the &window (PNG and SVG)…",
            self.ask_export_view,
            None,
            "Save a picture and a drawing of the window as it looks now.",
        )
        self._action(
            menu,
            "Export &every panel (PNG and SVG)…",
            self.ask_export_panels,
            None,
            "Save each panel as a picture and a drawing in a folder.",
        )
        file_menu = self.context.file_menu
        if file_menu is not None:
            first = file_menu.actions()[0] if file_menu.actions() else None
            save = self._action(
                None,
                "Save &session…",
                self.ask_save_class_file,
                "Ctrl+Shift+S",
                "Save model, prompt, panel layout and lesson position in one file.",
            )
            opener = self._action(
                None,
                "Open s&ession…",
                self.ask_open_class_file,
                "Ctrl+Alt+O",
                "Open a session file saved with Save session.",
            )
            file_menu.insertActions(first, [opener, save])
            file_menu.insertSeparator(first)

    def _action(self, menu, text: str, slot, shortcut, tip: str) -> QAction:
        action = QAction(text, self.context.dock_layout)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(lambda *_: slot())
        self.context.dock_layout.addAction(action)  # works while the menu bar is hidden (presenter mode)
        if menu is not None:
            menu.addAction(action)
        return action

    # -- lesson steps ----------------------------------------------------------------------------
    def show_lesson(self) -> None:
        self.lesson_dock.show()
        self.lesson_dock.raise_()
        self.pane.setFocus()

    def _on_step_changed(self, lesson_index: int, step_index: int) -> None:
        step = self.lessons[lesson_index].steps[step_index]
        self.presenter.show_step(step)
        self.highlighter.bring_forward(step.panel, step.highlight)
        self.refresh_numbers()

    def _on_session_changed(self, session) -> None:
        merges = bool(getattr(session.tokenizer, "merges", None))
        self.pane.set_model_features(
            model_features(session.config.pos_encoding, session.tokenizer.kind, merges, bool(session.trained))
        )

    def open_builtin_model(self, folder) -> bool:
        """Show a model the app ships (a step needs it); False, with a message, if it cannot be opened."""
        from app.state.model_in_use import load_checkpoint_model

        name = Path(folder).name
        source = "default model" if name == "default" else f"built-in model “{name}”"
        try:
            session = load_checkpoint_model(folder, source=source)
        except (OSError, ValueError) as error:
            self.errors.show_error(
                "Could not open the built-in model", f"{error}\n\nThe previous model is still shown."
            )
            return False
        self.context.set_session(session)
        return True

    def answer(self, question: Question) -> dict:
        """A `predict:` question's live numbers, computed from the model on screen now. The window is put
        in the same state (prompt, head), so its panels show the answer too."""
        return self.actions.show_action(question.action)

    def perform_try(self, step: LessonStep | None = None) -> None:
        """Do what a step's "try this" says (the current step's by default), as a student would in the window."""
        self.actions.perform_try(step or self.pane.step)

    def show_panel(self, name: str) -> None:
        self.highlighter.bring_forward(name, flash=False)

    # -- live numbers ----------------------------------------------------------------------------
    def _on_lesson_visibility_changed(self, visible: bool) -> None:
        if visible and self.numbers_stale:
            self.refresh_numbers()

    def refresh_numbers(self, *_) -> None:
        if not (self.lesson_dock.isVisible() and not self.lesson_dock.visibleRegion().isEmpty()):
            self.numbers_stale = True  # filled in when the pane is shown: typing never waits for it
            return
        self.numbers_stale = False
        controller, selection = self.context.controller, self.context.selection
        snapshot = controller.snapshot
        if snapshot is not None and (
            selection.layer >= snapshot.config.n_layers
            or selection.head >= snapshot.config.n_heads
            or snapshot.config != controller.session.config
        ):
            return  # a new model's snapshot is on its way (its ids are not this tokenizer's); its numbers come with it
        self.pane.set_numbers(self.numbers_for(self.pane.step))

    def numbers_for(self, step: LessonStep) -> dict | None:
        """Every live number for the current snapshot (None before the first one)."""
        return self.numbers.numbers_for(step)

    def context_for(self, step: LessonStep) -> LessonContext | None:
        return self.numbers.context_for(step)

    # -- hand-outs and pictures --------------------------------------------------------------------
    def handout(self, lesson_index: int | None = None) -> Handout:
        """The lesson as a hand-out (see HandoutMaker.pages), from the normal layout; afterwards the window is
        as it was, with the current step's panel in front again."""
        lesson = self.lessons[self.pane.position[0] if lesson_index is None else lesson_index]
        self.presenter.leave()  # pictures of the panels as they are laid out normally
        prompt = self.context.controller.prompt
        try:
            pages = self.handouts.pages(lesson)
        finally:
            self._on_step_changed(*self.pane.position)  # the current step's panel in front again
        return Handout(
            title=lesson.title,
            summary=lesson.summary,
            prompt=prompt,
            model=self.context.controller.session.describe(),
            pages=pages,
        )

    def export_handout(self, path, lesson_index: int | None = None) -> Path:
        return write_handout_pdf(path, self.handout(lesson_index))

    def ask_export_handout(self) -> None:
        name = f"{self.pane.lesson.id}.pdf"
        path, _ = QFileDialog.getSaveFileName(
            self.context.dock_layout, "Export the lesson as a PDF hand-out", str(Path.home() / name), "PDF (*.pdf)"
        )
        if path:
            self._report(
                lambda: self.export_handout(path), "Could not write the hand-out", f"Saved the hand-out to {path}"
            )

    def ask_export_view(self) -> None:
        window = self.context.dock_layout
        path, _ = QFileDialog.getSaveFileName(
            window,
            "Export the window (a .png and an .svg are written)",
            str(Path.home() / "attention-lab"),
            "PNG and SVG (*.png *.svg)",
        )
        if path:
            stem = Path(path).with_suffix("")
            self._report(
                lambda: export_view(window, stem), "Could not export the window", f"Saved {stem}.png and {stem}.svg"
            )

    def ask_export_panels(self) -> None:
        window = self.context.dock_layout
        folder = QFileDialog.getExistingDirectory(window, "Export every panel into a folder", str(Path.home()))
        if folder:
            self._report(
                lambda: export_panels(window, folder), "Could not export the panels", f"Saved every panel to {folder}"
            )

    # -- session files -----------------------------------------------------------------------------
    def save_class_file(self, path) -> Path:
        from core.files.class_file import save_class_file

        return save_class_file(path, capture_class_file(self.context, self))

    def open_class_file(self, path) -> None:
        """Raises ValueError (with a sentence) if the file cannot be opened; the window is unchanged then."""
        from core.files.class_file import load_class_file

        restore_class_file(self.context, self, load_class_file(path))

    def ask_save_class_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.context.dock_layout,
            "Save the session",
            str(Path.home() / "lesson.attnlab"),
            "Attention Lab session (*.attnlab)",
        )
        if path:
            self._report(
                lambda: self.save_class_file(path), "Could not save the session", f"Saved the session to {path}"
            )

    def try_open_class_file(self, path) -> bool:
        """Open the session, or say why not where the user is looking; False if it failed."""
        return self._report(lambda: self.open_class_file(path), "Could not open the session", f"Opened {path}")

    def ask_open_class_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.context.dock_layout, "Open a session", str(Path.home()), "Attention Lab session (*.attnlab)"
        )
        if path:
            self.try_open_class_file(path)

    def _report(self, work, failure: str, success: str) -> bool:
        try:
            work()
        except (OSError, ValueError) as error:
            self.errors.show_error(failure, str(error))
            return False
        except MemoryError:  # core checks every declared size first; this is what memory left over
            self.errors.show_error(
                failure,
                "This computer ran out of memory; close other programs and try again. "
                "The previous model is still shown.",
            )
            return False
        self.context.show_status(success, 8000)
        return True
