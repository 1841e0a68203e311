"""When a keystroke's last paint has finished: paint events timed in QApplication.notify, shared by the
explorer benchmarks (bench_explorer.py, bench_views.py)."""

from __future__ import annotations

import statistics
import time


def percentiles_ms(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(1e3 * s for s in seconds)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


class PaintClock:
    """Notes when each paint event has finished (QApplication.notify), so a keystroke's latency ends at
    the last pixel the window draws for it, not at a guess such as one processEvents() call."""

    def __init__(self) -> None:
        self.panels: dict = {}  # panel widget -> name, for the per-panel paint times
        self._panel_of: dict = {}  # painted widget -> its panel's name ("" for none), remembered
        self.reset()

    def reset(self) -> None:
        self.last_end = self.last_cpu = 0.0  # perf_counter and thread_time after the newest paint
        self.per_panel: dict[str, float] = {}  # panel name -> CPU seconds spent painting it

    def forget_receivers(self) -> None:
        self._panel_of = {}

    def paint_done(self, receiver, began_cpu: float) -> None:
        self.last_end, self.last_cpu = time.perf_counter(), time.thread_time()
        name = self._panel_of.get(receiver)
        if name is None:
            name = self._panel_of[receiver] = self._find_panel(receiver)
        if name:
            self.per_panel[name] = self.per_panel.get(name, 0.0) + self.last_cpu - began_cpu

    def _find_panel(self, receiver) -> str:
        widget = receiver if hasattr(receiver, "parentWidget") else None  # a QWindow is no panel
        while widget is not None and widget not in self.panels:
            widget = widget.parentWidget()
        return "" if widget is None else self.panels[widget]


PAINT_CLOCK = PaintClock()
QUIET_S = 0.06  # no paint for this long: everything the keystroke caused has been drawn


def settle(clock: PaintClock, loop) -> None:
    """Run the event loop until no paint has happened for QUIET_S (the wait itself is not counted)."""
    from PySide6.QtCore import QTimer

    entered = time.perf_counter()
    timer = QTimer(interval=5)

    def check() -> None:
        if time.perf_counter() - max(clock.last_end, entered) > QUIET_S:
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()


def timed_application():
    """A QApplication whose notify() stamps the end of every paint event."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    class TimedApplication(QApplication):
        def notify(self, receiver, event):
            if event.type() != QEvent.Type.Paint:
                return super().notify(receiver, event)
            began_cpu = time.thread_time()
            handled = super().notify(receiver, event)
            PAINT_CLOCK.paint_done(receiver, began_cpu)
            return handled

    application = TimedApplication([])
    application.setCursorFlashTime(0)  # a blinking cursor would paint on its own
    return application
