"""Everything lessons add to the explorer window, wired in one place.

    classroom = Classroom(window)     # called by MainWindow while it builds itself

Adds the lesson pane, the model-size and residual-stream panels, a Lessons menu (next/back, presenter
mode F5, hand-outs, pictures) and session files in the File menu. Live numbers are computed by
core.teaching.lesson_numbers from the window's current snapshot; nothing here does arithmetic on the model.
"""
from __future__ import annotations

import weakref
from pathlib import Path

from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow, QWidget

from app.studio import STUDIO_NAME
from core.teaching.explain_numbers import explanation_for
from core.teaching.lesson_checks import TryAction, head_of, model_features
from core.teaching.lesson_numbers import LessonContext, TrainingFacts, gradient_step, live_numbers, tokenizer_facts
from core.teaching.lesson_questions import Question, answer_numbers, questions_markdown
from core.teaching.lessons import (Lesson, LessonError, LessonStep, live_sentences, load_lessons, problems_lesson,
                          template_names)
from core.teaching.teaching_numbers import checkpoint_history, positions_off

from .handout import Handout, HandoutPage, export_panels, export_view, write_handout_pdf
from .highlight import PanelHighlighter, reveal
from .history_picture import history_picture
from .lesson_pane import LessonPane
from .panel_picture import panel_picture
from .parameter_view import ParameterView
from .presenter import PresenterMode
from .residual_view import ResidualView
from .class_file_io import capture_class_file, restore_class_file, training_losses

LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
UPDATE_NUMBERS = {"learning_rate", "update_loss_before", "update_loss_after", "gradient_norm"}
TRAINING_NUMBERS = {"train_steps", "train_first_loss", "train_last_loss", "train_perplexity", "val_last_loss",
                    "val_perplexity", "train_val_gap", "train_tokens", "gpt3_tokens_times", "lr_peak", "lr_now", "lr_min",
                    "warmup_steps", "schedule_steps", "weight_decay", "grad_clip"}  # about a whole training run
POSITIONS_OFF_NUMBERS = {"no_position_top_token", "no_position_top_prob", "position_changes"}
MAX_PARAMS_FOR_UPDATE = 5_000_000    # the live gradient step runs on the GUI thread: only for small models
UPDATE_LEARNING_RATE = 0.01


class Classroom(QObject):
    def __init__(self, window: QMainWindow, lessons: tuple[Lesson, ...] | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.errors = window.errors  # where a failure is told (app/error_display.py)
        self.problems: list[str] = []           # lesson files that could not be read, in words
        try:
            self.lessons = lessons or load_lessons(problems=self.problems)
        except LessonError as error:  # not one lesson readable: open anyway and say why
            self.problems.append(str(error))
            self.lessons = (problems_lesson(self.problems),)
        self.pane = LessonPane(self.lessons)
        self.parameter_view = ParameterView()
        self.highlighter = PanelHighlighter(window)
        self.presenter = PresenterMode(window, self.pane, self.highlighter)
        self._update_cache: tuple | None = None   # ((weakref to session, ids), UpdateFacts) of the last gradient step
        self.numbers_stale = True                # a snapshot came while the pane was hidden
        self._history_cache: tuple | None = None  # (weakref to session, (train, val, recipe)) of the model on screen
        self._add_panels()
        self.lesson_dock.visibilityChanged.connect(self._on_lesson_visibility_changed)
        self._add_menus()
        window.controller.snapshot_ready.connect(self.refresh_numbers)
        window.selection.changed.connect(self.refresh_numbers)
        window.output_view.sampling_changed.connect(self.refresh_numbers)  # the temperature is in the numbers
        self.pane.step_changed.connect(self._on_step_changed)
        self.pane.open_model_requested.connect(self.open_builtin_model)
        self.pane.set_answerer(self.answer)
        self.pane.try_requested.connect(lambda: self.perform_try())
        window.controller.session_changed.connect(self._on_session_changed)
        self._on_session_changed(window.controller.session)
        window.installEventFilter(self)  # to leave presenter mode before the window saves its layout
        if self.problems:  # a teacher's typo: say which file and what to fix, and keep the rest
            QTimer.singleShot(0, lambda: self.errors.show_error("Some lesson files could not be read",
                                                                "\n\n".join(self.problems)))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.presenter.leave()
        return False

    # -- panels and menus ------------------------------------------------------------------------
    def _add_panels(self) -> None:
        """The lesson behind the what-if tab; the two new plots behind the Q/K/V tab (Lessons ▸ Show the
        lesson, or any step, brings them forward)."""
        window = self.window
        self.lesson_dock = window.add_panel(self.pane, area=LEFT, tab_with="whatIfView")
        self.parameter_dock = window.add_panel(self.parameter_view, area=RIGHT, tab_with="qkvView")
        self.residual_dock = window.add_lazy_panel(  # built when first shown: its plots are slow to make
            lambda: ResidualView(window.selection), "residualView", ResidualView.TITLE, ResidualView.TOOLTIP,
            area=RIGHT, tab_with="qkvView")

    @property
    def residual_view(self) -> ResidualView:
        return self.window.built_panel("residualView")

    def _add_menus(self) -> None:
        window = self.window
        menu = self.menu = window.menuBar().addMenu("&Lessons")  # the classroom's own; the window's menus stay its own
        self._action(menu, "Show the &lesson", self.show_lesson, "Ctrl+Shift+L", "Bring the lesson pane forward.")
        self._action(menu, "&Next step", self.pane.go_next, "Ctrl+]", "Go to the next lesson step.")
        self._action(menu, "&Previous step", self.pane.go_back, "Ctrl+[", "Go back one lesson step.")
        menu.addSeparator()
        self.presenter_action = self._action(menu, "P&resenter mode", self.presenter.toggle, "F5",
                                             "Full screen, large text, keyboard only; F5 or Escape to leave.")
        menu.addSeparator()
        self._action(menu, "Export lesson &hand-out (PDF)…", self.ask_export_handout, "Ctrl+Shift+H",
                     "Save the current lesson as a PDF with this prompt's figures and numbers.")
        self._action(menu, "Export the &window (PNG and SVG)…", self.ask_export_view, None,
                     "Save a picture and a drawing of the window as it looks now.")
        self._action(menu, "Export &every panel (PNG and SVG)…", self.ask_export_panels, None,
                     "Save each panel as a picture and a drawing in a folder.")
        file_menu = window.menus.get("File")
        if file_menu is not None:
            first = file_menu.actions()[0] if file_menu.actions() else None
            save = self._action(None, "Save &session…", self.ask_save_class_file, "Ctrl+Shift+S",
                                "Save model, prompt, panel layout and lesson position in one file.")
            opener = self._action(None, "Open s&ession…", self.ask_open_class_file, "Ctrl+Alt+O",
                                  "Open a session file saved with Save session.")
            file_menu.insertActions(first, [opener, save])
            file_menu.insertSeparator(first)

    def _action(self, menu, text: str, slot, shortcut, tip: str) -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(lambda *_: slot())
        self.window.addAction(action)  # works while the menu bar is hidden (presenter mode)
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
        self.pane.set_model_features(model_features(session.config.pos_encoding, session.tokenizer.kind, merges,
                                                    bool(session.trained)))

    def open_builtin_model(self, folder) -> bool:
        """Show a model the app ships (a step needs it); False, with a message, if it cannot be opened."""
        from app.state.model_in_use import load_checkpoint_model

        name = Path(folder).name
        source = "default model" if name == "default" else f"built-in model “{name}”"
        try:
            session = load_checkpoint_model(folder, source=source)
        except (OSError, ValueError) as error:
            self.errors.show_error("Could not open the built-in model",
                                   f"{error}\n\nThe previous model is still shown.")
            return False
        self.window.set_session(session)
        return True

    def answer(self, question: Question) -> dict:
        """A `predict:` question's live numbers, computed from the model on screen now. The window is put
        in the same state (prompt, head), so its panels show the answer too."""
        return self._show_action(question.action)

    def _show_action(self, action: TryAction) -> dict:
        """Type the action's prompt and tick its head; returns the live numbers computed for them now."""
        window, session = self.window, self.window.controller.session
        prompt = action.prompt or window.controller.prompt
        numbers = answer_numbers(session.model, session.tokenizer, session.vocabulary().labels, prompt,
                                 window.selection.layer, window.selection.head, select=action.select,
                                 training=self._training_facts())
        if action.prompt and action.prompt != window.controller.prompt:
            window.set_prompt(action.prompt)
        chosen = head_of(action.select, numbers) if action.select else None
        if chosen is not None:
            window.selection.select(*chosen)
        return numbers

    def perform_try(self, step: LessonStep | None = None) -> None:
        """Do what a step's "try this" says, as a student would in the window."""
        action, window = (step or self.pane.step).action, self.window
        self._show_action(action)
        if action.temperature is not None:
            window.output_view.set_temperature(action.temperature)
        if action.switch_off == "positions":
            window.whatif_view.switch_off_positions()
        elif action.switch_off == "head":
            window.whatif_view.switch_off_head(window.selection.layer, window.selection.head)
        if action.train:
            self._train_in_studio(action.train)

    def _train_in_studio(self, steps: int) -> None:
        """Train the studio's run (set up from its panel first, if there is none yet) for `steps` steps."""
        studio = self.window.ensure_studio()
        self.show_panel("trainingStudio")
        if studio.run is not None:
            studio.train_steps(steps)
            return

        def train_once_ready() -> None:
            studio.run_ready.disconnect(train_once_ready)
            studio.train_steps(steps)

        studio.run_ready.connect(train_once_ready)
        studio.set_up(studio.setup_panel.setup())

    def show_panel(self, name: str) -> None:
        self.highlighter.bring_forward(name, flash=False)

    def _on_lesson_visibility_changed(self, visible: bool) -> None:
        if visible and self.numbers_stale:
            self.refresh_numbers()

    def refresh_numbers(self, *_) -> None:
        if not (self.lesson_dock.isVisible() and not self.lesson_dock.visibleRegion().isEmpty()):
            self.numbers_stale = True  # filled in when the pane is shown: typing never waits for it
            return
        self.numbers_stale = False
        controller, selection = self.window.controller, self.window.selection
        snapshot = controller.snapshot
        if snapshot is not None and (selection.layer >= snapshot.config.n_layers
                                     or selection.head >= snapshot.config.n_heads
                                     or snapshot.config != controller.session.config):
            return  # a new model's snapshot is on its way (its ids are not this tokenizer's); its numbers come with it
        self.pane.set_numbers(self.numbers_for(self.pane.step))

    def numbers_for(self, step: LessonStep) -> dict | None:
        """Every live number for the current snapshot (None before the first one)."""
        context = self.context_for(step)
        return None if context is None else live_numbers(context)

    def context_for(self, step: LessonStep) -> LessonContext | None:
        window = self.window
        snapshot = window.controller.snapshot
        if snapshot is None:
            return None
        session = window.controller.session
        ids = snapshot.trace.ids[0].tolist()
        output = getattr(window, "output_view", None)
        return LessonContext(
            trace=snapshot.trace, token_labels=snapshot.token_labels, vocab_labels=snapshot.vocab_labels,
            config=snapshot.config, layer=window.selection.layer, head=window.selection.head,
            temperature=output.temperature if output is not None else 1.0,
            prompt=session.tokenizer.decode(ids), tokenizer=tokenizer_facts(session.tokenizer, ids),
            training=self._training_facts(), update=self._update_facts(step, session, ids),
            positions_off=self._positions_off(step, session, ids, snapshot.vocab_labels),
            explanation=explanation_for(session.model, snapshot.trace, self._names_used(step)),
        )

    @staticmethod
    def _names_used(step: LessonStep) -> set[str]:
        """Every live number the step quotes or checks."""
        names = {name for template in step.live for name in template_names(template)}
        return names | {e.number for e in step.action.expect} | {str(e.value) for e in step.action.expect}

    def _positions_off(self, step: LessonStep, session, ids: list[int], vocab_labels):
        """The prompt run again without positions, only for steps that quote it and small models."""
        if not self._names_used(step) & POSITIONS_OFF_NUMBERS or session.model.num_params() > MAX_PARAMS_FOR_UPDATE:
            return None
        return positions_off(session.model, ids, vocab_labels)

    def _update_facts(self, step: LessonStep, session, ids: list[int]):
        """One gradient step on the prompt, only for steps that quote it and models small enough."""
        model = session.model
        wanted = bool(self._names_used(step) & UPDATE_NUMBERS)
        if not wanted or model.num_params() > MAX_PARAMS_FOR_UPDATE:
            return None
        # Keyed by the session, weakly: not id(model), which a freed model's successor can reuse, nor the
        # model, which the studio recycles with new weights; and an old session is not kept alive.
        key = (weakref.ref(session), tuple(ids))
        if self._update_cache is None or self._update_cache[0] != key:
            self._update_cache = (key, gradient_step(model, ids, UPDATE_LEARNING_RATE))
        return self._update_cache[1]

    def _training_facts(self) -> TrainingFacts | None:
        """The training the window knows about: the studio's run, else the shown model's own history."""
        # A model opened from a folder has its own history; the studio's model (no folder) is the run's.
        first, second = (self._model_history, self._studio_run)
        if not self.window.controller.session.path:
            first, second = second, first
        train, val, recipe = first()
        if not train:
            train, val, recipe = second()
        if not train:
            return None
        (first_step, first_loss), (last_step, last_loss) = train[0], train[-1]
        return TrainingFacts(steps=int(last_step), first_loss=float(first_loss), last_loss=float(last_loss),
                             val_last_loss=float(val[-1][1]) if val else None, recipe=recipe)

    def _studio_run(self):
        losses = training_losses(self.window) or {}
        trainer = getattr(getattr(getattr(self.window, "studio", None), "run", None), "trainer", None)
        return losses.get("train"), losses.get("val"), getattr(trainer, "config", None)

    def _model_history(self):
        """Losses and recipe saved with the model on screen (the default model has both), read once per model."""
        session = self.window.controller.session
        if self._history_cache is None or self._history_cache[0]() is not session:
            history = (None, None, None)
            if session.path:
                history = checkpoint_history(session.path)
            self._history_cache = (weakref.ref(session), history)
        return self._history_cache[1]

    # -- hand-outs and pictures --------------------------------------------------------------------
    def handout(self, lesson_index: int | None = None) -> Handout:
        """The lesson as a hand-out: for each step the window is put in the step's state (its prompt, head and
        temperature), and its numbers and a clean picture of its panel are taken from that one drawing. The
        window comes back as it was: prompt, head, temperature, theme and the current step's panel."""
        lesson = self.lessons[self.pane.position[0] if lesson_index is None else lesson_index]
        window = self.window
        self.presenter.leave()  # pictures of the panels as they are laid out normally
        prompt, selected, temperature, dark = (window.controller.prompt, (window.selection.layer, window.selection.head),
                                               window.output_view.temperature, window.dark)
        pages = []
        try:
            if dark:
                window.set_dark_theme(False)  # paper is white
            for step in lesson.steps:
                pages.append(self._handout_page(step))
        finally:
            window.output_view.set_temperature(temperature)
            self._show_prompt_drawn(prompt)
            window.selection.select(*selected)
            if dark:
                window.set_dark_theme(True)
            self._on_step_changed(*self.pane.position)  # the current step's panel in front again
        return Handout(title=lesson.title, summary=lesson.summary, prompt=prompt,
                       model=window.controller.session.describe(), pages=tuple(pages))

    def _handout_page(self, step: LessonStep) -> HandoutPage:
        """One step in its own state: its prompt typed and drawn, its head ticked, then its words and picture."""
        window = self.window
        try:
            self._show_action(step.action)
        except ValueError:  # the model on screen cannot read the step's prompt: the page shows the prompt on screen
            pass
        self._show_prompt_drawn(window.controller.prompt)
        if step.action.temperature is not None:
            window.output_view.set_temperature(step.action.temperature)
        figure, note = self._saved_training_picture(step), ""
        if figure is None:
            subject, note = self._pictured(step)
            figure = panel_picture(subject) if subject is not None else None
        numbers = self.numbers_for(step)
        return HandoutPage(title=step.title, body=step.body + questions_markdown(step.questions),
                           try_this=step.try_this, sentences=tuple(live_sentences(step, numbers)) if numbers else (),
                           figure=figure, prompt=window.controller.prompt, note=note)

    def _show_prompt_drawn(self, prompt: str) -> None:
        """Type `prompt` and return once the panels on screen show it (the model reads it on the worker thread)."""
        window, controller = self.window, self.window.controller
        if prompt != controller.prompt or window.prompt_view.text() != prompt:
            window.set_prompt(prompt)
        if not controller.busy:
            return
        loop = QEventLoop()

        def quit_when_answered(*_) -> None:
            if not controller.busy:
                loop.quit()

        controller.snapshot_ready.connect(quit_when_answered)  # after the window's own: it has drawn by then
        controller.message.connect(quit_when_answered)        # an answer with no snapshot (the model failed)
        try:
            if controller.busy:
                loop.exec()
        finally:
            controller.snapshot_ready.disconnect(quit_when_answered)
            controller.message.disconnect(quit_when_answered)

    def _saved_training_picture(self, step: LessonStep) -> QImage | None:
        """For a studio step whose numbers describe the training saved with the model on screen (not a run in
        the studio): that training's loss curves and learning rate. None for any other step."""
        if STUDIO_NAME not in step.panel or not self._names_used(step) & TRAINING_NUMBERS or self._studio_is_the_story():
            return None
        train, val, recipe = self._model_history()
        return history_picture(train, val, recipe) if train else None

    def _studio_is_the_story(self) -> bool:
        """True while the studio's run is the training the lesson's numbers describe (see _training_facts)."""
        return bool(self._studio_run()[0]) and not self.window.controller.session.path

    def _pictured(self, step: LessonStep) -> tuple[QWidget | None, str]:
        """(what to picture for the step, or None; a note said instead of a missing picture).

        The studio is pictured only while its run is the training the step's numbers describe; otherwise
        the step's fallback panel is (e.g. "trainingStudio, outputView"), or nothing."""
        studio_is_the_story = self._studio_is_the_story()
        names = [name.strip() for name in step.panel.split(",") if name.strip()]
        usable = [name for name in names if name != STUDIO_NAME or studio_is_the_story]
        panel = self.highlighter.bring_forward(", ".join(usable), flash=False) if usable else None
        if panel is None:
            note = "Train a run in the studio to see its curves here." if STUDIO_NAME in names else ""
            return None, note
        part = self.highlighter.find(step.highlight) if step.highlight else None
        inside = part is not None and panel.isAncestorOf(part)
        if inside:
            reveal(part)  # e.g. the studio's Curves tab
        QApplication.processEvents()  # the raised panel lays itself out and draws before its picture
        return (part if inside else panel), ""

    def export_handout(self, path, lesson_index: int | None = None) -> Path:
        return write_handout_pdf(path, self.handout(lesson_index))

    def ask_export_handout(self) -> None:
        name = f"{self.pane.lesson.id}.pdf"
        path, _ = QFileDialog.getSaveFileName(self.window, "Export the lesson as a PDF hand-out",
                                              str(Path.home() / name), "PDF (*.pdf)")
        if path:
            self._report(lambda: self.export_handout(path), "Could not write the hand-out", f"Saved the hand-out to {path}")

    def ask_export_view(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export the window (a .png and an .svg are written)",
                                              str(Path.home() / "attention-lab"), "PNG and SVG (*.png *.svg)")
        if path:
            stem = Path(path).with_suffix("")
            self._report(lambda: export_view(self.window, stem), "Could not export the window",
                         f"Saved {stem}.png and {stem}.svg")

    def ask_export_panels(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Export every panel into a folder", str(Path.home()))
        if folder:
            self._report(lambda: export_panels(self.window, folder), "Could not export the panels",
                         f"Saved every panel to {folder}")

    # -- session files -----------------------------------------------------------------------------
    def save_class_file(self, path) -> Path:
        from core.files.class_file import save_class_file

        return save_class_file(path, capture_class_file(self.window, self))

    def open_class_file(self, path) -> None:
        """Raises ValueError (with a sentence) if the file cannot be opened; the window is unchanged then."""
        from core.files.class_file import load_class_file

        restore_class_file(self.window, self, load_class_file(path))

    def ask_save_class_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save the session", str(Path.home() / "lesson.attnlab"),
                                              "Attention Lab session (*.attnlab)")
        if path:
            self._report(lambda: self.save_class_file(path), "Could not save the session",
                         f"Saved the session to {path}")

    def try_open_class_file(self, path) -> bool:
        """Open the session, or say why not where the user is looking; False if it failed."""
        return self._report(lambda: self.open_class_file(path), "Could not open the session", f"Opened {path}")

    def ask_open_class_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open a session", str(Path.home()),
                                              "Attention Lab session (*.attnlab)")
        if path:
            self.try_open_class_file(path)

    def _report(self, work, failure: str, success: str) -> bool:
        try:
            work()
        except (OSError, ValueError) as error:
            self.errors.show_error(failure, str(error))
            return False
        except MemoryError:  # core checks every declared size first; this is what memory left over
            self.errors.show_error(failure, "This computer ran out of memory; close other programs and try again. "
                                            "The previous model is still shown.")
            return False
        self.window.statusBar().showMessage(success, 8000)
        return True
