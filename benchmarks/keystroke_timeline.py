"""Where a keystroke's time goes in the explorer: a timeline from the key press to the last paint.

bench_explorer.py says how long a keystroke takes; this says where the milliseconds go, as medians over
--keys keystrokes (the default model, 63 -> 64 tokens and back, as there):

    key press -> the controller asks for a trace -> the worker starts it -> the worker is done
    -> the snapshot is delivered on the GUI thread -> every visible panel redrawn ("drawn")
    -> the last paint (pyqtgraph repaints each changed scene in its own round of the event loop)

with the GUI thread's CPU time for the whole keystroke, the number of events and paints it caused, and
the event handlers after "drawn" by CPU time (a panel that is re-laid out on every keystroke shows up
here as Resize and LayoutRequest events). On a loaded machine wall time is a multiple of CPU time;
compare CPU figures, or two trees run one after the other.

    QT_QPA_PLATFORM=offscreen PYTHONPATH=$PWD .venv/bin/python benchmarks/keystroke_timeline.py [--explain]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench_explorer import EXPLAIN_WINDOW, prompt_of, show_explain_panels, wait_until_drawn
from paint_clock import PAINT_CLOCK, settle

MILESTONES = ("asked", "trace started", "trace done", "delivered", "drawn")


class EventLog:
    """Every event the GUI thread handles while recording: (type, receiver, start, end, CPU seconds)."""

    def __init__(self) -> None:
        self.recording = False
        self.events: list[tuple[str, str, float, float, float]] = []

    def note(self, receiver, event, start: float, end: float, cpu: float) -> None:
        name = receiver.objectName() if hasattr(receiver, "objectName") else ""
        self.events.append((event.type().name, f"{type(receiver).__name__}:{name}", start, end, cpu))


def recording_application(log: EventLog):
    """A QApplication that times every event while `log.recording`, and every paint for PAINT_CLOCK."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    class RecordingApplication(QApplication):
        def notify(self, receiver, event):
            kind = event.type()
            if not log.recording and kind != QEvent.Type.Paint:
                return super().notify(receiver, event)
            start, cpu = time.perf_counter(), time.thread_time()
            handled = super().notify(receiver, event)
            if kind == QEvent.Type.Paint:
                PAINT_CLOCK.paint_done(receiver, cpu)
            if log.recording:
                log.note(receiver, event, start, time.perf_counter(), time.thread_time() - cpu)
            return handled

    application = RecordingApplication([])
    application.setCursorFlashTime(0)
    return application


def watch_milestones(window, marks: dict[str, float]) -> None:
    """Stamp the milestones of a keystroke into `marks` (perf_counter seconds), by wrapping the calls."""
    controller = window.controller
    worker = controller._worker  # the benchmark looks inside: no public hook says when a trace starts

    def stamped(function, before: str, after: str | None = None):
        def call(*args, **kwargs):
            marks[before] = time.perf_counter()
            result = function(*args, **kwargs)
            if after:
                marks[after] = time.perf_counter()
            return result

        return call

    worker._maker.make = stamped(worker._maker.make, "trace started", "trace done")
    controller.refresh = stamped(controller.refresh, "asked")
    worker.finished_request.disconnect()
    worker.finished_request.connect(stamped(controller._on_request_finished, "delivered"))
    window.drawn.connect(lambda *_: marks.__setitem__("drawn", time.perf_counter()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=40)
    parser.add_argument("--explain", action="store_true", help="with the five 'why' panels on screen")
    parser.add_argument("--handlers", type=int, default=12, help="event handlers listed")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    log = EventLog()
    app = recording_application(log)
    from PySide6.QtCore import QEventLoop, QSize, Qt
    from PySide6.QtTest import QTest

    from app.settings import AppSettings
    from app.state.model_in_use import default_model
    from app.window import MainWindow

    session, _ = default_model()
    folder = tempfile.mkdtemp()
    size = QSize(*EXPLAIN_WINDOW) if args.explain else None
    window = MainWindow(AppSettings(Path(folder) / "s.ini"), session, prompt="", remember_layout=False, size=size)
    window.show()
    app.processEvents()
    if args.explain:
        show_explain_panels(window)
    marks: dict[str, float] = {}
    watch_milestones(window, marks)
    loop = QEventLoop()
    window.prompt_view.set_text(prompt_of(session.tokenizer, 63))
    for _ in range(3):  # the prompt traced and drawn, and nothing left to paint
        wait_until_drawn(window, loop)
        settle(PAINT_CLOCK, loop)

    keystrokes, handlers = [], defaultdict(lambda: [0, 0.0])  # (type, receiver) -> [count, CPU seconds]
    for key in range(args.keys):
        marks.clear()
        log.events.clear()
        PAINT_CLOCK.reset()
        log.recording = True
        start, cpu = time.perf_counter(), time.thread_time()
        QTest.keyClick(window.prompt_view.editor, Qt.Key.Key_A if key % 2 == 0 else Qt.Key.Key_Backspace)
        wait_until_drawn(window, loop)
        settle(PAINT_CLOCK, loop)
        log.recording = False
        done = [e for e in log.events if e[3] <= PAINT_CLOCK.last_end]
        keystrokes.append(
            {name: marks[name] - start for name in MILESTONES}
            | {
                "last paint": PAINT_CLOCK.last_end - start,
                "GUI-thread CPU": PAINT_CLOCK.last_cpu - cpu,
                "events": len(done),
                "paints": sum(e[0] == "Paint" for e in done),
            }
        )
        for kind, receiver, began, _, seconds in done:
            if began >= marks["drawn"]:
                handler = handlers[(kind, receiver)]
                handler[0] += 1
                handler[1] += seconds

    def median(name: str) -> float:
        return statistics.median(k[name] for k in keystrokes)

    where = "with the five explain panels" if args.explain else "default layout"
    print(
        f"keystroke timeline, default model, 64 tokens, {where}, {args.keys} keys, "
        f"load average {os.getloadavg()[0]:.1f} (medians, ms from the key press)"
    )
    for name in (*MILESTONES, "last paint", "GUI-thread CPU"):
        print(f"  {name:16s} {1e3 * median(name):7.1f}")
    print(f"  events per keystroke {median('events'):.0f}, paints {median('paints'):.0f}")
    print("  event handlers after 'drawn' (per keystroke; nested ones count inside their parents too):")
    ranked = sorted(handlers.items(), key=lambda item: -item[1][1])[: args.handlers]
    for (kind, receiver), (count, seconds) in ranked:
        print(f"    {kind:20s} {receiver:44s} x{count / args.keys:5.1f}  CPU {1e3 * seconds / args.keys:6.2f} ms")
    window.close()


if __name__ == "__main__":
    sys.exit(main())
