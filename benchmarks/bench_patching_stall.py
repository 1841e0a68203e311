"""Does the window stay responsive while the patching panel sweeps every head? (issue 17, "Speed")

A randomly initialised GPT-2-small-shaped model (12 layers × 12 heads, d_model 768, vocab 50,257; a
character tokenizer, so 16 characters are 16 tokens) is put in the explorer window, the patching panel
is shown, a corrupted prompt typed (one letter changed) and "Run sweep" clicked, exactly as a user
would: preparing (both traces, one timed batch for the estimate) and the sweep of all 144 heads run in
the panel's background thread. Meanwhile a QTimer at 5 ms on the GUI thread records the gaps between
its ticks: any gap much over 5 ms is time the event loop could not answer the user. Reported: p50, p99
and max gap for the preparation and for the sweep, and the sweep's time (target: p99 ≤ 50 ms, ≤ 15 s).
Baseline in the same run: the same timer with nothing running (the machine's own scheduling noise).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_patching_stall.py [--tokens 16] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TICK_MS = 5  # the timer's interval: a gap of about this much means the event loop answered at once


class GapRecorder:
    """A QTimer ticking every TICK_MS ms on the GUI thread; the gaps between ticks, phase by phase."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.phase = "idle"
        self.gaps: dict[str, list[float]] = {}
        self._last = time.perf_counter()
        self.timer = QTimer(interval=TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.setdefault(self.phase, []).append(now - self._last)
        self._last = now

    def enter(self, phase: str) -> None:
        self._tick()  # the gap so far belongs to the phase before
        self.phase = phase

    def summary(self, phase: str) -> str:
        gaps = 1e3 * np.asarray(self.gaps.get(phase, [0.0]))
        return (
            f"{len(gaps)} ticks, gap p50 {np.percentile(gaps, 50):.1f} ms, p99 {np.percentile(gaps, 99):.1f} ms, "
            f"max {gaps.max():.1f} ms; over 50 ms: {int((gaps > 50).sum())}"
        )


def wait_for(condition, seconds: float = 600.0) -> None:
    """Run the event loop until condition() holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop, deadline = QEventLoop(), time.perf_counter() + seconds
    poll = QTimer(interval=20)
    poll.timeout.connect(lambda: (condition() or time.perf_counter() > deadline) and loop.quit())
    poll.start()
    if not condition():
        loop.exec()
    poll.stop()
    if not condition():
        raise TimeoutError("the window never got there")


def one_sweep(window, recorder: GapRecorder, n_tokens: int, name: str) -> None:
    """Type a corrupted prompt into the patching panel and click "Run sweep"; the timer's gaps go to
    "preparing NAME" and "sweeping NAME"."""
    from PySide6.QtCore import QEventLoop

    panel = window.find_widget("patchingView")
    clean = window.prompt_view.editor.toPlainText()
    corrupted = clean[: n_tokens // 2] + ("b" if clean[n_tokens // 2] != "b" else "c") + clean[n_tokens // 2 + 1 :]
    panel.corrupted_field.setText(corrupted)
    panel.answer_field.setText("e")
    panel.wrong_field.setText("t")
    loop = QEventLoop()
    panel.settled.connect(loop.quit)
    start_sweep = panel._start_sweep  # the sweep starts right after preparing when the estimate is short

    def sweep_starts() -> None:
        nonlocal prepared
        prepared = time.perf_counter() - began
        recorder.enter(f"sweeping {name}")
        start_sweep()

    panel._start_sweep = sweep_starts
    prepared = 0.0
    recorder.enter(f"preparing {name}")
    began = time.perf_counter()
    panel.run_button.click()
    if panel.job is None:
        raise RuntimeError(f"the sweep did not start: {panel.problem.text()} {panel.status.text()}")
    loop.exec()
    if panel.pair is None:
        raise RuntimeError(f"preparing failed: {panel.status.text()}")
    if panel.run_button.text() != "Run sweep":  # a long estimate waits for "Start anyway"
        panel.run_button.click()
        loop.exec()
    recorder.enter("after")
    panel.settled.disconnect(loop.quit)
    del panel._start_sweep
    result = panel.result
    print(
        f"    preparing (two traces + one timed batch): {prepared:.2f} s wall; estimate {panel.estimate.seconds:.1f} s"
    )
    print(f"    sweep: {result.done}/{result.total} heads in {result.seconds:.2f} s (target <= 15 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1, help="sweeps, one after another")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import shiboken6
    import torch
    from PySide6.QtWidgets import QApplication

    from app.settings import AppSettings
    from app.window import MainWindow
    from bench_explorer import gpt2_small_sized_session, prompt_of, wait_until_drawn
    from PySide6.QtCore import QEventLoop

    app = QApplication.instance() or QApplication([])  # noqa: F841 (the windows need one)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    session = gpt2_small_sized_session()
    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(
            settings=AppSettings(Path(folder) / "s.ini"),
            session=session,
            prompt=prompt_of(session.tokenizer, args.tokens),
            remember_layout=False,
        )
        window.show()
        wait_until_drawn(window, QEventLoop())
        panel = window.find_widget("patchingView")  # built behind its tab: bring its dock to the front
        dock = next(p.dock for p in window.panels if p.widget is panel)
        dock.show()
        dock.raise_()
        wait_for(lambda: panel.snapshot is not None)  # a panel is drawn once it is on screen
        assert window.snapshot.n_tokens == args.tokens
        recorder = GapRecorder()
        began = time.perf_counter()
        wait_for(lambda: time.perf_counter() - began > 3.0)  # the baseline: the timer with nothing running
        print(f"GPT-2-small-shaped random model, {args.tokens} tokens, 144 heads per sweep")
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}:")
            one_sweep(window, recorder, args.tokens, str(round_))
            print(f"    GUI while preparing: {recorder.summary(f'preparing {round_}')}")
            print(f"    GUI while sweeping:  {recorder.summary(f'sweeping {round_}')}")
        print(f"baseline, idle window (3 s): {recorder.summary('idle')}")
        recorder.timer.stop()
        window.close()
        shiboken6.delete(window)  # before the QApplication goes, or Qt may crash on exit


if __name__ == "__main__":
    main()
