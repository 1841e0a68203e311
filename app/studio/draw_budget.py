"""How much the studio may draw while it trains: a share of the training thread's CPU time.

Every millisecond the window spends drawing is one the training does not get: the process's threads
share the cores other programs leave it, and drawing in Python holds the GIL the training thread needs
between its torch calls. So while training runs as fast as it can, the GUI thread draws only while its
own CPU time stays under `share` of the training thread's (a token bucket: training earns drawing time,
drawing spends it, at most `most_saved` seconds are saved up for a big picture such as the explorer's):

    budget = DrawBudget(share=0.03)
    budget.start(training_cpu_s)                 # training starts (the worker's CPU seconds so far)
    if budget.allows(training_cpu_s):            # afterwards: may the GUI draw now?
        draw()                                   # what the GUI thread spent is charged at the next call

A big model's slow steps earn a lot of drawing; a tiny model on a busy machine earns little, and its
pictures come less often instead of its training going slower.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class DrawBudget:
    def __init__(
        self, share: float, most_saved: float = 0.05, gui_clock: Callable[[], float] = time.thread_time
    ) -> None:
        """share: GUI CPU seconds allowed per training CPU second; most_saved: the most seconds kept in hand;
        gui_clock: the CPU seconds of the calling (GUI) thread."""
        self.share = share
        self.most_saved = most_saved
        self._gui_clock = gui_clock
        self.balance = most_saved  # seconds of GUI CPU the GUI may still spend (negative: in debt)
        self._training_seen = 0.0
        self._gui_seen = 0.0

    def start(self, training_cpu_s: float) -> None:
        """Training starts (or resumes): a full purse, nothing spent before this moment counted."""
        self.balance = self.most_saved
        self._training_seen = training_cpu_s
        self._gui_seen = self._gui_clock()

    def allows(self, training_cpu_s: float) -> bool:
        """Whether the GUI may draw now: what training earned since the last call, less what the GUI spent."""
        gui_now = self._gui_clock()
        earned = self.share * max(0.0, training_cpu_s - self._training_seen)
        spent = gui_now - self._gui_seen
        self._training_seen, self._gui_seen = training_cpu_s, gui_now
        self.balance = min(self.most_saved, self.balance + earned - spent)
        return self.balance >= 0.0
