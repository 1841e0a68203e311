"""A step's "try this", done in the window as a student would: type its prompt, tick its head, move the
temperature, switch a part of the model off, train the studio's run.

    actions = LessonActions(context, numbers, show_panel)
    actions.perform_try(step)
    actions.show_prompt_drawn("the cat sat")     # returns once every panel on screen shows it
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEventLoop

from app.state.comparison import DIFFERENCE, Comparison
from app.studio import STUDIO_NAME
from core.teaching.lesson_checks import TryAction, head_of
from core.teaching.lesson_questions import answer_numbers
from core.teaching.lessons import LessonStep

from .context import ClassroomContext
from .step_numbers import StepNumbers


class LessonActions:
    def __init__(self, context: ClassroomContext, numbers: StepNumbers, show_panel: Callable[[str], None]) -> None:
        self.context = context
        self.numbers = numbers
        self.show_panel = show_panel  # brings a panel forward by name (the classroom's highlighter)

    def show_action(self, action: TryAction) -> dict:
        """Type the action's prompt and tick its head; returns the live numbers computed for them now."""
        controller, selection = self.context.controller, self.context.selection
        session = controller.session
        prompt = action.prompt or controller.prompt
        if not prompt:  # an empty prompt box and a try that types nothing: no numbers, no head to tick
            return {}
        numbers = answer_numbers(
            session.model,
            session.tokenizer,
            session.vocabulary().labels,
            prompt,
            selection.layer,
            selection.head,
            select=action.select,
            training=self.numbers.training_facts(),
        )
        if action.prompt and action.prompt != controller.prompt:
            self.context.prompt.set_text(action.prompt)
        chosen = head_of(action.select, numbers) if action.select else None
        if chosen is not None:
            selection.select(*chosen)
        return numbers

    def perform_try(self, step: LessonStep) -> None:
        """Do what a step's "try this" says, as a student would in the window."""
        action, selection, controller = step.action, self.context.selection, self.context.controller
        self.show_action(action)
        # What an earlier try changed and this one does not ask for goes back to how the window opens:
        # the step's live numbers are computed at temperature 1, on the whole model, for one prompt.
        self.context.output.set_temperature(1.0 if action.temperature is None else action.temperature)
        if not controller.intervention.is_empty:
            self.context.whatif.reset()
        if action.switch_off == "positions":
            self.context.whatif.switch_off_positions()
        elif action.switch_off == "head":
            self.context.whatif.switch_off_head(selection.layer, selection.head)
        if action.train:
            self._train_in_studio(action.train)
        wanted = Comparison(action.compare, DIFFERENCE) if action.compare else Comparison()
        if controller.comparison != wanted:  # the Compare bar follows the controller's comparison
            controller.set_comparison(wanted)

    def _train_in_studio(self, steps: int) -> None:
        """Train the studio's run (set up from its panel first, if there is none yet) for `steps` steps."""
        studio = self.context.ensure_studio()
        self.show_panel(STUDIO_NAME)
        if studio.run is not None:
            studio.train_steps(steps)
            return

        def train_once_ready() -> None:
            studio.run_ready.disconnect(train_once_ready)
            studio.train_steps(steps)

        studio.run_ready.connect(train_once_ready)
        studio.set_up(studio.setup_panel.setup())

    def show_prompt_drawn(self, prompt: str) -> None:
        """Type `prompt` and return once the panels on screen show it (the model reads it on the worker thread)."""
        controller = self.context.controller
        if prompt != controller.prompt or self.context.prompt.text() != prompt:
            self.context.prompt.set_text(prompt)
        if not controller.busy:
            return
        loop = QEventLoop()

        def quit_when_answered(*_) -> None:
            if not controller.busy:
                loop.quit()

        controller.snapshot_ready.connect(quit_when_answered)  # after the window's own: it has drawn by then
        controller.message.connect(quit_when_answered)  # an answer with no snapshot (the model failed)
        try:
            if controller.busy:
                loop.exec()
        finally:
            controller.snapshot_ready.disconnect(quit_when_answered)
            controller.message.disconnect(quit_when_answered)
