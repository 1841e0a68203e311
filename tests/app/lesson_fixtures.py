"""The classroom of a test window, reset to the first step, layer 0 and head 0 for every test."""

from __future__ import annotations

import pytest

PROMPT = "the cat sat on the mat. the cat"


def classroom_of(window):
    """The window's classroom (made here if the window does not make its own)."""
    from app.lessons.classroom import Classroom
    from app.window_classroom import classroom_context

    if getattr(window, "classroom", None) is None:
        window.classroom = Classroom(classroom_context(window))
    return window.classroom


@pytest.fixture
def classroom(window):
    classroom = classroom_of(window)
    classroom.presenter.leave()
    classroom.show_lesson()
    classroom.pane.go_to(0, 0)
    window.selection.select(0, 0)
    return classroom


@pytest.fixture
def shown(classroom, show_prompt):
    """A classroom whose window shows PROMPT."""
    show_prompt(PROMPT)
    return classroom
