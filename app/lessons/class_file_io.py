"""Between the window and a class file (the .attnlab "session" a teacher saves): what to capture from the
window, and how to put it back, through the classroom's context (app/lessons/context.py).

The file format itself is core.files.class_file; this module only knows where each piece lives in the window.
A studio that was never built has no training to save, and reading it does not build it; a file that
carries training history builds the studio to show it.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray

from app.state.model_in_use import ModelInUse
from core.files.class_file import ClassFile

from .context import ClassroomContext


def capture_class_file(context: ClassroomContext, classroom) -> ClassFile:
    """The window's state now (the normal layout, even while presenter mode is on)."""
    model_session, window = context.controller.session, context.dock_layout
    saved = classroom.presenter.saved
    layout = saved.state if saved is not None else window.saveState()
    geometry = saved.geometry if saved is not None else window.saveGeometry()
    timeline, losses = _training_history(context)
    settings = {
        "source": model_session.source,
        "trained": bool(model_session.trained),
        "dark": bool(context.is_dark()),
        "temperature": float(context.output.temperature),
    }
    return ClassFile(
        model=model_session.model,
        tokenizer=model_session.tokenizer,
        prompt=context.controller.prompt,
        lesson=classroom.pane.position_ids(),
        layer=context.selection.layer,
        head=context.selection.head,
        layout=bytes(layout.data()),
        geometry=bytes(geometry.data()),
        step=model_session.step or 0,
        losses=losses,
        timeline=timeline,
        settings=settings,
    )


def _training_history(context: ClassroomContext):
    """(timeline snapshots, losses) of the training studio's run, or ((), None) without one."""
    studio = context.studio()  # None when it was never built: then there is no run to save
    timeline = getattr(studio, "timeline", None)
    snapshots = []
    if timeline is not None:
        for step in timeline.steps():
            weights = timeline.get(step)
            snapshots.append((step, dict(getattr(weights, "tensors", weights))))
    return tuple(snapshots), training_losses(context)


def training_losses(context: ClassroomContext) -> dict | None:
    """{"train": [[step, loss], ...], "val": [...]} of the studio's run or shown history (a copy), or None."""
    studio = context.studio()
    return studio.training_losses() if studio is not None else None


def restore_class_file(context: ClassroomContext, classroom, session: ClassFile) -> None:
    """Show the session's model, prompt, selection, lesson step, settings and layout, in that order."""
    if classroom.presenter.active:
        classroom.presenter.leave()
    settings = session.settings
    source = str(settings.get("source", "session"))
    context.set_session(
        ModelInUse(
            session.model.eval(),
            session.tokenizer,
            source,
            trained=bool(settings.get("trained", session.step > 0)),
            step=session.step or None,
        )
    )
    if session.timeline or session.losses:
        context.ensure_studio().restore_training_history(session.timeline, session.losses)
    context.prompt.set_text(session.prompt)
    context.selection.select(session.layer, session.head)
    if "temperature" in settings:
        context.output.set_temperature(float(settings["temperature"]))
    if "dark" in settings and bool(settings["dark"]) != context.is_dark():
        context.set_dark_theme(bool(settings["dark"]))
    if session.lesson is not None:
        classroom.pane.go_to_ids(*session.lesson)
    if session.geometry:
        context.dock_layout.restoreGeometry(QByteArray(session.geometry))
    if session.layout:
        context.dock_layout.restoreState(QByteArray(session.layout))
