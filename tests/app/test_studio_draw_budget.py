"""The studio's drawing budget: the GUI draws within a share of the training thread's CPU time."""

from __future__ import annotations

import pytest

from app.studio.draw_budget import DrawBudget


class FakeClock:
    """The GUI thread's CPU seconds, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_training_earns_drawing_and_drawing_spends_it():
    clock = FakeClock()
    budget = DrawBudget(share=0.02, most_saved=0.05, gui_clock=clock)
    budget.start(training_cpu_s=10.0)
    assert budget.allows(10.0)  # a full purse at the start: the first picture comes at once
    clock.now += 0.08  # a big picture (the explorer): 80 ms of GUI time, more than was saved
    assert not budget.allows(10.0)  # in debt by 30 ms
    assert not budget.allows(11.0)  # 1 s of training earns 20 ms: still 10 ms short
    assert budget.allows(11.5)  # another 10 ms earned: even
    assert budget.balance == pytest.approx(0.0, abs=1e-12)


def test_savings_are_capped_so_a_long_quiet_spell_buys_no_burst():
    clock = FakeClock()
    budget = DrawBudget(share=0.02, most_saved=0.05, gui_clock=clock)
    budget.start(0.0)
    assert budget.allows(1000.0)  # 20 s of GUI time earned, but at most 50 ms kept
    assert budget.balance == pytest.approx(0.05)
    clock.now += 0.06
    assert not budget.allows(1000.0)


def test_what_the_gui_spent_before_training_started_is_not_charged():
    clock = FakeClock()
    clock.now = 5.0  # the window was busy before Play
    budget = DrawBudget(share=0.02, gui_clock=clock)
    budget.start(training_cpu_s=3.0)
    assert budget.allows(3.0) and budget.balance == pytest.approx(budget.most_saved)
