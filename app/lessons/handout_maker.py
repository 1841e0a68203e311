"""A lesson as a hand-out, taken from the window: each step's state shown, its numbers and a picture taken.

    pages = HandoutMaker(context, numbers, actions, highlighter).pages(lesson)

The hand-out's layout and PDF writing are app/lessons/handout.py; this module only puts the window in each
step's state (its prompt, head and temperature, on white paper) and back as it was.
"""

from __future__ import annotations

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from app.studio import STUDIO_NAME
from core.teaching.lesson_questions import questions_markdown
from core.teaching.lessons import Lesson, LessonStep, live_sentences

from .context import ClassroomContext
from .handout import HandoutPage
from .highlight import PanelHighlighter, reveal
from .history_picture import history_picture
from .lesson_actions import LessonActions
from .panel_picture import panel_picture
from .step_numbers import TRAINING_NUMBERS, StepNumbers, names_used


class HandoutMaker:
    def __init__(
        self, context: ClassroomContext, numbers: StepNumbers, actions: LessonActions, highlighter: PanelHighlighter
    ) -> None:
        self.context = context
        self.numbers = numbers
        self.actions = actions
        self.highlighter = highlighter

    def pages(self, lesson: Lesson) -> tuple[HandoutPage, ...]:
        """For each step the window is put in the step's state (its prompt, head and temperature), and its numbers
        and a clean picture of its panel are taken from that one drawing. The window comes back as it was: prompt,
        head, temperature and theme."""
        context = self.context
        prompt, selected = context.controller.prompt, (context.selection.layer, context.selection.head)
        temperature, dark = context.output.temperature, context.is_dark()
        pages = []
        try:
            if dark:
                context.set_dark_theme(False)  # paper is white
            for step in lesson.steps:
                pages.append(self._page(step))
        finally:
            context.output.set_temperature(temperature)
            self.actions.show_prompt_drawn(prompt)
            context.selection.select(*selected)
            if dark:
                context.set_dark_theme(True)
        return tuple(pages)

    def _page(self, step: LessonStep) -> HandoutPage:
        """One step in its own state: its prompt typed and drawn, its head ticked, then its words and picture."""
        controller = self.context.controller
        try:
            self.actions.show_action(step.action)
        except ValueError:  # the model on screen cannot read the step's prompt: the page shows the prompt on screen
            pass
        self.actions.show_prompt_drawn(controller.prompt)
        if step.action.temperature is not None:
            self.context.output.set_temperature(step.action.temperature)
        figure, note = self.saved_training_picture(step), ""
        if figure is None:
            subject, note = self.pictured(step)
            figure = panel_picture(subject) if subject is not None else None
        numbers = self.numbers.numbers_for(step)
        return HandoutPage(
            title=step.title,
            body=step.body + questions_markdown(step.questions),
            try_this=step.try_this,
            sentences=tuple(live_sentences(step, numbers)) if numbers else (),
            figure=figure,
            prompt=controller.prompt,
            note=note,
        )

    def saved_training_picture(self, step: LessonStep) -> QImage | None:
        """For a studio step whose numbers describe the training saved with the model on screen (not a run in
        the studio): that training's loss curves and learning rate. None for any other step."""
        if (
            STUDIO_NAME not in step.panel
            or not names_used(step) & TRAINING_NUMBERS
            or self.numbers.studio_is_the_story()
        ):
            return None
        train, val, recipe = self.numbers.model_history()
        return history_picture(train, val, recipe) if train else None

    def pictured(self, step: LessonStep) -> tuple[QWidget | None, str]:
        """(what to picture for the step, or None; a note said instead of a missing picture).

        The studio is pictured only while its run is the training the step's numbers describe; otherwise
        the step's fallback panel is (e.g. "trainingStudio, outputView"), or nothing."""
        studio_is_the_story = self.numbers.studio_is_the_story()
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
