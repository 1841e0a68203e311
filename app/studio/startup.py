"""`attention-lab --screenshot shot.png --train-steps N`: train the studio's run N steps, then take the picture.

A start-up step for app.main: it takes over the screenshot request, sets up the studio's default
run, trains it, and asks main for the picture once the trained model is drawn everywhere.
"""

from __future__ import annotations

from app import screenshot

from . import show_training_studio
from core.training.run_setup import RunSetup


def train_before_screenshot(window, args) -> bool:
    """Start-up step: with --train-steps N, train first and only then save the screenshot."""
    steps = getattr(args, "train_steps", None)
    if not steps:
        return True
    if steps < 0:
        print("--train-steps needs a number of steps of 0 or more.")
        return False
    path, args.screenshot = args.screenshot, None  # main's own screenshot step must not fire early
    studio = window.ensure_studio()
    show_training_studio(window)
    studio.tabs.setCurrentWidget(studio.heads)

    def train() -> None:
        studio.run_ready.disconnect(train)
        studio.paused.connect(picture)
        studio.train_steps(steps)

    def picture(step: int) -> None:
        studio.paused.disconnect(picture)
        if not path:
            return

        def take_picture() -> None:
            screenshot.when_drawn(window, lambda: screenshot.save_picture_and_quit(window, path))

        def when_shown(shown_step: int) -> None:
            if shown_step == step:  # earlier live updates are skipped: the final weights are on their way
                studio.shown_step_changed.disconnect(when_shown)
                take_picture()

        if studio.shown_step == step:  # the final weights may already be on screen
            take_picture()
        else:
            studio.shown_step_changed.connect(when_shown)

    studio.run_ready.connect(train)
    studio.set_up(RunSetup().with_changes(max_steps=max(steps, RunSetup().max_steps)))
    return True
