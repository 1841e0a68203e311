"""A lesson step's live numbers, from the snapshot on screen now.

    numbers = StepNumbers(context)
    numbers.numbers_for(step)     # {"top_token": "cat", "learning_rate": 0.01, ...}, or None before a snapshot

The arithmetic is core.teaching.lesson_numbers'; this module gathers what it needs from the window's state
(snapshot, chosen head, temperature, the training the lesson talks about) and runs the costly extras (one
gradient step, the prompt without positions) only for steps that quote them and models small enough.
"""

from __future__ import annotations

import weakref

from core.teaching.explain_numbers import explanation_for
from core.teaching.lesson_numbers import LessonContext, TrainingFacts, gradient_step, live_numbers, tokenizer_facts
from core.teaching.lessons import LessonStep, template_names
from core.teaching.teaching_numbers import checkpoint_history, positions_off

from .class_file_io import training_losses
from .context import ClassroomContext

UPDATE_NUMBERS = {"learning_rate", "update_loss_before", "update_loss_after", "gradient_norm"}
TRAINING_NUMBERS = {
    "train_steps",
    "train_first_loss",
    "train_last_loss",
    "train_perplexity",
    "val_last_loss",
    "val_perplexity",
    "train_val_gap",
    "train_tokens",
    "gpt3_tokens_times",
    "lr_peak",
    "lr_now",
    "lr_min",
    "warmup_steps",
    "schedule_steps",
    "weight_decay",
    "grad_clip",
}  # about a whole training run
POSITIONS_OFF_NUMBERS = {"no_position_top_token", "no_position_top_prob", "position_changes"}
MAX_PARAMS_FOR_UPDATE = 5_000_000  # the live gradient step runs on the GUI thread: only for small models
UPDATE_LEARNING_RATE = 0.01


def names_used(step: LessonStep) -> set[str]:
    """Every live number the step quotes or checks."""
    names = {name for template in step.live for name in template_names(template)}
    return names | {e.number for e in step.action.expect} | {str(e.value) for e in step.action.expect}


class StepNumbers:
    def __init__(self, context: ClassroomContext) -> None:
        self.context = context
        self._update_cache: tuple | None = None  # ((weakref to session, ids), UpdateFacts) of the last gradient step
        self._history_cache: tuple | None = None  # (weakref to session, (train, val, recipe)) of the model on screen

    def numbers_for(self, step: LessonStep) -> dict | None:
        """Every live number for the current snapshot (None before the first one)."""
        context = self.context_for(step)
        return None if context is None else live_numbers(context)

    def context_for(self, step: LessonStep) -> LessonContext | None:
        controller, selection = self.context.controller, self.context.selection
        snapshot = controller.snapshot
        if snapshot is None:
            return None
        if snapshot.is_difference:  # a lesson's numbers are one prompt's: the clean one under the difference
            snapshot = snapshot.clean
        session = controller.session
        if snapshot.config != session.config:  # another model just opened: its first snapshot is on its way
            return None
        ids = snapshot.trace.ids[0].tolist()
        return LessonContext(
            trace=snapshot.trace,
            token_labels=snapshot.token_labels,
            vocab_labels=snapshot.vocab_labels,
            config=snapshot.config,
            layer=selection.layer,
            head=selection.head,
            temperature=self.context.output.temperature,
            prompt=session.tokenizer.decode(ids),
            tokenizer=tokenizer_facts(session.tokenizer, ids),
            training=self.training_facts(),
            update=self._update_facts(step, session, ids),
            positions_off=self._positions_off(step, session, ids, snapshot.vocab_labels),
            explanation=explanation_for(session.model, snapshot.trace, names_used(step)),
        )

    def _positions_off(self, step: LessonStep, session, ids: list[int], vocab_labels):
        """The prompt run again without positions, only for steps that quote it and small models."""
        if not names_used(step) & POSITIONS_OFF_NUMBERS or session.model.num_params() > MAX_PARAMS_FOR_UPDATE:
            return None
        return positions_off(session.model, ids, vocab_labels)

    def _update_facts(self, step: LessonStep, session, ids: list[int]):
        """One gradient step on the prompt, only for steps that quote it and models small enough."""
        model = session.model
        wanted = bool(names_used(step) & UPDATE_NUMBERS)
        if not wanted or model.num_params() > MAX_PARAMS_FOR_UPDATE:
            return None
        # Keyed by the session, weakly: not id(model), which a freed model's successor can reuse, nor the
        # model, which the studio recycles with new weights; and an old session is not kept alive.
        key = (weakref.ref(session), tuple(ids))
        if self._update_cache is None or self._update_cache[0] != key:
            self._update_cache = (key, gradient_step(model, ids, UPDATE_LEARNING_RATE))
        return self._update_cache[1]

    # -- the training the lesson talks about ---------------------------------------------------------
    def training_facts(self) -> TrainingFacts | None:
        """The training the window knows about: the studio's run, else the shown model's own history."""
        # A model opened from a folder has its own history; the studio's model (no folder) is the run's.
        first, second = (self.model_history, self.studio_run)
        if not self.context.controller.session.path:
            first, second = second, first
        train, val, recipe = first()
        if not train:
            train, val, recipe = second()
        if not train:
            return None
        (_, first_loss), (last_step, last_loss) = train[0], train[-1]
        return TrainingFacts(
            steps=int(last_step),
            first_loss=float(first_loss),
            last_loss=float(last_loss),
            val_last_loss=float(val[-1][1]) if val else None,
            recipe=recipe,
        )

    def studio_run(self):
        """(train losses, val losses, trainer config) of the studio's run; Nones without one."""
        losses = training_losses(self.context) or {}
        trainer = getattr(getattr(self.context.studio(), "run", None), "trainer", None)
        return losses.get("train"), losses.get("val"), getattr(trainer, "config", None)

    def model_history(self):
        """Losses and recipe saved with the model on screen (the default model has both), read once per model."""
        session = self.context.controller.session
        if self._history_cache is None or self._history_cache[0]() is not session:
            history = (None, None, None)
            if session.path:
                history = checkpoint_history(session.path)
            self._history_cache = (weakref.ref(session), history)
        return self._history_cache[1]

    def studio_is_the_story(self) -> bool:
        """True while the studio's run is the training the lesson's numbers describe (see training_facts)."""
        return bool(self.studio_run()[0]) and not self.context.controller.session.path
