"""How presenter mode shares the screen: the lesson on the left, the prompt above the step's panel on the
right, and the what-if panel (when a step's "try this" needs it) where it fits.

The step's panel comes first: it gets at least the room its content needs (below that its plots would be
clipped, as presenter mode hides scroll bars) whenever the lesson's own minimum leaves that much. The
lesson gets about a third of the width when that leaves the panel its room, else less, never below its
own minimum. The what-if panel goes right of the step's panel when the width allows all three, else under
the lesson (on a 1280x720 screen). The prompt shows two rows of chips unless the panel needs that height.
The text grows with the screen's height (font_scale), so a 1280x720 projector reads like a 1080p one.

Sizes are plain pixels, worked out from what the widgets say they need, so the plan can be checked
without a window; presenter.py applies it after every step, resize and change of screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QDockWidget, QScrollArea, QWidget

FONT_SCALE = 1.6  # the presentation text on a 1080-line screen (a projector's), times the normal size
SMALLEST_FONT_SCALE = 1.2  # never less, however few lines the screen has (at 720 lines still more than 1.6 at 1080)
LESSON_SHARE = 0.32  # of the width, for the lesson when the panels leave it that much
LESSON_SHARE_BESIDE = 0.26  # the same with the what-if right of the step's panel: two panels to make room for
PANEL_SHARE = 0.62  # of the right column, for the step's panel when the what-if is beside it
BESIDE_SHARE_UNDER_LESSON = 0.66  # of the left column, for the what-if under the lesson: its plot keeps its axis
PROMPT_MOST_SHARE = 0.45  # of the height, the most the prompt takes from the step's panel
SEPARATOR = 6  # the handle between two docks, and the room it takes


@dataclass(frozen=True)
class Needs:
    """The room each part needs, in pixels (a dock's title bar included)."""

    lesson: QSize  # the lesson pane: its title, a few lines of text and the page buttons
    prompt_height: int  # the prompt, its token summary and two rows of chips
    prompt_least: int  # the prompt with less: what its dock cannot go below
    panel: QSize  # the step's panel, all of its content in sight
    beside: QSize | None  # the what-if panel, when the step needs it


@dataclass(frozen=True)
class Plan:
    """Where the docks go and how big they are."""

    lesson_width: int  # the left column
    prompt_height: int  # the prompt's dock, above the step's panel
    panel_width: int  # the step's panel (the right column, less the what-if when beside it)
    beside_under_lesson: bool  # the what-if panel in the left column, under the lesson
    beside_size: int  # its width (right of the panel) or height (under the lesson); 0 without one


def font_scale(screen_height: int) -> float:
    """How much larger presenter mode makes the text on a screen `screen_height` pixels tall: the text keeps
    its share of the screen's height, which is what the back row sees on the wall, within the limits."""
    return max(SMALLEST_FONT_SCALE, min(FONT_SCALE, FONT_SCALE * screen_height / 1080))


def plan(room: QSize, needs: Needs) -> Plan:
    """Share `room` (the docks' area) between the lesson, the prompt, the step's panel and the what-if."""
    width, height = room.width(), room.height()
    beside = needs.beside
    under_lesson = beside is not None and (
        needs.lesson.width() + needs.panel.width() + beside.width() + 2 * SEPARATOR > width
    )
    left_wanted, right_least = int(width * LESSON_SHARE), needs.panel.width()
    if beside is not None and under_lesson:
        left_wanted = max(left_wanted, beside.width())
    elif beside is not None:
        left_wanted, right_least = int(width * LESSON_SHARE_BESIDE), right_least + beside.width() + SEPARATOR
    # Short of room, the left column gives way first (down to the lesson's own minimum), never the step's panel.
    lesson_width = max(needs.lesson.width(), min(left_wanted, width - SEPARATOR - right_least))
    right = width - SEPARATOR - lesson_width

    panel_width, beside_size = right, 0
    if beside is not None and under_lesson:
        wanted = int(height * BESIDE_SHARE_UNDER_LESSON)
        beside_size = max(beside.height(), min(wanted, height - SEPARATOR - needs.lesson.height()))
    elif beside is not None:
        panel_width = max(needs.panel.width(), min(int(right * PANEL_SHARE), right - SEPARATOR - beside.width()))
        beside_size = right - SEPARATOR - panel_width

    # The prompt gives up its second row of chips before the step's panel loses any of its content.
    prompt_height = min(
        needs.prompt_height,
        int(height * PROMPT_MOST_SHARE),
        max(needs.prompt_least, height - SEPARATOR - needs.panel.height()),
    )
    return Plan(lesson_width, prompt_height, panel_width, under_lesson, beside_size)


def needed_size(dock: QDockWidget) -> QSize:
    """The room `dock` needs to show all of its content: its own minimum, grown by what a scroll area
    inside would otherwise scroll (presenter mode hides scroll bars, so that part would be cut off)."""
    inner = dock.widget()
    need = widget_need(dock)
    if inner is None:
        return need
    for scroll in inner.findChildren(QScrollArea):
        content = scroll.widget()
        if content is None or scroll.parentWidget() is not inner:
            continue  # only those laid out in the panel itself (view_base.content, the what-if grid)
        viewport = widget_need(scroll).boundedTo(scroll.maximumSize())
        shown = widget_need(content).boundedTo(scroll.maximumSize())  # a capped one scrolls past its cap anyway
        need += QSize(max(0, shown.width() - viewport.width()), max(0, shown.height() - viewport.height()))
    return need


def fits(dock: QDockWidget) -> bool:
    """True when `dock` is at least as big as its content needs."""
    need, size = needed_size(dock), dock.size()
    return size.width() >= need.width() and size.height() >= need.height()


def widget_need(widget: QWidget) -> QSize:
    """The least size `widget`'s layout gives it."""
    return widget.minimumSizeHint().expandedTo(widget.minimumSize())
