"""Training studio: does the window stay responsive while training, and does training stay fast?

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_studio.py [--steps 300] [--rounds 3]

Two measurements, both inside the real explorer window (offscreen) with the studio driving every panel:

1. GUI stall: a QTimer heartbeat fires every HEARTBEAT_MS on the GUI thread; the delay beyond that
   interval is how long the event loop was blocked. Measured while the studio trains at full speed
   (Play) and, as the baseline in the same run, while the window sits idle. Target: p99 <= 30 ms.
2. Throughput: steps per second of the studio's run (worker thread, live curves, explorer updates)
   against the headless Trainer on the same setup, alternating (ABBA), same process. Target: >= 0.95x.
   Beside the wall-clock ratio, the CPU per step of the whole process and of the training thread:
   on a machine whose cores are all busy the process gets a share of them, so every millisecond the
   window spends is one the training does not get; the CPU ratio is also much steadier than the wall
   clock there. --threads-report splits each thread's time into CPU, run-queue wait and blocked.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HEARTBEAT_MS = 5
SETTLE_MS = 500


def wait_for(signal, timeout_ms: int = 600_000) -> list:
    """Run the event loop until `signal` fires; returns its arguments."""
    loop, got = QEventLoop(), []

    def done(*args):
        got.extend(args)
        loop.quit()

    signal.connect(done)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(done)
    return got


class Heartbeat:
    """Records how late each tick of a fast QTimer is: the time the event loop could not run."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer(interval=HEARTBEAT_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.delays.clear()
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        elapsed = self._clock.nsecsElapsed() / 1e6
        self._clock.restart()
        self.delays.append(max(0.0, elapsed - HEARTBEAT_MS))

    def percentiles(self) -> dict[str, float]:
        values = np.asarray(self.delays)
        return {
            "p50": float(np.percentile(values, 50)),
            "p95": float(np.percentile(values, 95)),
            "p99": float(np.percentile(values, 99)),
            "max": float(values.max()),
            "ticks": len(values),
        }


class ThreadClocks:
    """CPU time, run-queue wait and blocks of every thread of this process (Linux /proc schedstat).

    A thread's wall time splits into: running on a core (cpu), runnable but waiting for a core that other
    processes hold (queue), and blocked (waiting on the GIL, a lock or for work). Read before and after a
    phase; `since` gives each thread's share of that phase, keyed by the thread's name."""

    def __init__(self) -> None:
        self.started_at = time.perf_counter()
        self.start = self._read()

    @staticmethod
    def _read() -> dict[int, tuple[str, int, int, int]]:
        clocks = {}
        for tid in os.listdir("/proc/self/task"):
            try:
                name = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
                cpu_ns, queue_ns, _ = (int(v) for v in Path(f"/proc/self/task/{tid}/schedstat").read_text().split())
                status = Path(f"/proc/self/task/{tid}/status").read_text()
            except OSError:  # the thread ended meanwhile
                continue
            switches = int(status.split("voluntary_ctxt_switches:")[1].split()[0])
            clocks[int(tid)] = (name, cpu_ns, queue_ns, switches)
        return clocks

    def since(self) -> dict[str, dict[str, float]]:
        """{thread name: {"cpu": s, "queue": s, "blocks": n}} summed over threads of one name; "wall": the phase."""
        end, wall = self._read(), time.perf_counter() - self.started_at
        shares: dict[str, dict[str, float]] = {}
        for tid, (name, cpu, queue, switches) in end.items():
            _, cpu0, queue0, switches0 = self.start.get(tid, (name, 0, 0, 0))
            name = "GUI" if tid == os.getpid() else name
            share = shares.setdefault(name, {"cpu": 0.0, "queue": 0.0, "blocks": 0})
            share["cpu"] += (cpu - cpu0) / 1e9
            share["queue"] += (queue - queue0) / 1e9
            share["blocks"] += switches - switches0
        shares["wall"] = {"cpu": wall, "queue": 0.0, "blocks": 0}
        return shares


def describe_threads(shares: dict[str, dict[str, float]], steps: int) -> str:
    """One line: each busy thread's CPU ms per step, its queue wait per step, and what is left (blocked)."""
    wall = shares.pop("wall")["cpu"]
    parts = []
    for name, share in sorted(shares.items(), key=lambda item: -item[1]["cpu"]):
        if share["cpu"] * 1000 / steps < 0.05:
            continue
        blocked = wall - share["cpu"] - share["queue"]
        parts.append(
            f"{name} cpu {share['cpu'] * 1000 / steps:.2f} queue {share['queue'] * 1000 / steps:.2f} "
            f"blocked {blocked * 1000 / steps:.2f} ({share['blocks'] / steps:.1f} blocks)"
        )
    return f"wall {wall * 1000 / steps:.2f} ms/step; " + "; ".join(parts)


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def idle_for(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


@dataclass(frozen=True)
class Phase:
    """One side's measurement: how fast, and what it cost the process."""

    steps_per_second: float  # wall clock
    process_cpu_ms: float  # CPU of all the process's threads, per step
    training_cpu_ms: float  # CPU of the thread that trains, per step
    threads: str  # describe_threads()


def phase(shares: dict[str, dict[str, float]], steps: int, training_thread: str) -> Phase:
    cpu = sum(share["cpu"] for name, share in shares.items() if name != "wall")
    return Phase(
        steps / shares["wall"]["cpu"],
        cpu * 1000 / steps,
        shares[training_thread]["cpu"] * 1000 / steps,
        describe_threads(dict(shares), steps),
    )


def headless_steps_per_second(setup, text, tokenizer, steps: int) -> Phase:
    """Steps per second of core's Trainer alone on this thread, and where its threads' time went."""
    from core.training.recipe import prepare_run

    trainer = prepare_run(setup, text=text, tokenizer=tokenizer).trainer
    trainer.step()  # warm-up, like the studio's first step
    clocks = ThreadClocks()
    for _ in trainer.run(steps):
        pass
    return phase(clocks.since(), steps, "GUI")


def studio_steps_per_second(studio, setup, steps: int) -> Phase:
    """Steps per second of the studio's run (from Train to the pause), and where its threads' time went."""
    studio.set_up(setup)
    wait_for(studio.run_ready)
    studio.tabs.setCurrentWidget(studio.plots)  # live curves on screen (a new run opens on the Heads tab)
    studio.step()
    wait_for(studio.paused)
    clocks = ThreadClocks()
    studio.train_steps(steps)
    wait_for(studio.paused)
    return phase(clocks.since(), steps, "TrainingWorker")


def explorer_update_ms(window, studio, updates: int) -> list[float]:
    """GUI-thread CPU of showing a kept step's weights in the explorer, until every panel on screen has drawn
    and painted them (what the studio pays at each explorer update while training), alternating two steps."""
    steps = studio.timeline.steps()
    costs = []
    for update in range(updates + 2):  # the first two warm up
        _, weights = studio.timeline.nearest(steps[-1 - (update % 2) * 3])
        started = time.thread_time()
        studio.frames.show_weights(weights)
        wait_for(window.drawn)
        QApplication.processEvents()  # the paints the new snapshot asked for
        costs.append((time.thread_time() - started) * 1000)
        idle_for(100)
    return costs[2:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="steps per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of headless vs studio")
    parser.add_argument("--preset", default="nano", help="model preset of the run")
    parser.add_argument(
        "--task",
        default="previous-token",
        help="synthetic task to train on, with the studio's recipe for it if it has one",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for both sides (1: on this shared 2-core machine two threads thrash)",
    )
    parser.add_argument(
        "--threads-report", action="store_true", help="per round: each thread's CPU, queue wait and blocked time"
    )
    parser.add_argument(
        "--explorer-updates",
        type=int,
        default=0,
        help="instead: the GUI-thread CPU of this many explorer updates from the studio (after 40 steps)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 (the windows need one)
    from app.settings import AppSettings
    from core.training.recipe import prepare_run
    from core.training.run_setup import RunSetup, with_task_recipe
    from app.window import MainWindow

    setup = with_task_recipe(RunSetup(corpus_name=args.task, model_preset=args.preset)).with_changes(
        max_steps=args.steps + 10
    )
    folder = Path(tempfile.mkdtemp())
    window = MainWindow(settings=AppSettings(folder / "settings.ini"), remember_layout=False)
    window.show()
    studio = window.ensure_studio()
    studio.autosave_folder = folder / "autosave"
    from app.studio import show_training_studio

    show_training_studio(window)
    studio.tabs.setCurrentWidget(studio.plots)
    reference = prepare_run(setup)  # the text and tokenizer both sides train on
    config = setup.model_config(reference.tokenizer.vocab_size)
    print(
        f"torch threads: {torch.get_num_threads()}; run: {setup.describe_corpus()}, {config.n_layers} layers x "
        f"{config.n_heads} heads, d_model {config.d_model}, batch {setup.batch_size} x context {setup.context_length}",
        flush=True,
    )

    if args.explorer_updates:
        studio.set_up(setup)
        wait_for(studio.run_ready)
        studio.tabs.setCurrentWidget(studio.plots)
        studio.train_steps(40)
        wait_for(studio.paused)
        idle_for(SETTLE_MS)
        costs = explorer_update_ms(window, studio, args.explorer_updates)
        print(
            f"explorer update, GUI-thread CPU: median {statistics.median(costs):.1f} ms, min {min(costs):.1f}, "
            f"max {max(costs):.1f} ({len(costs)} updates; load average {load_average()})"
        )
        window.close()
        return

    # 1. GUI stall while training at full speed, against the idle window.
    heartbeat = Heartbeat()
    studio.set_up(setup)
    wait_for(studio.run_ready)
    studio.tabs.setCurrentWidget(studio.plots)
    idle_for(SETTLE_MS)
    heartbeat.start()
    idle_for(3000)
    heartbeat.stop()
    idle = heartbeat.percentiles()
    heartbeat.start()
    studio.train_steps(args.steps)
    wait_for(studio.paused)
    heartbeat.stop()
    busy = heartbeat.percentiles()
    print(
        f"GUI stall idle:     p50 {idle['p50']:.1f} ms, p95 {idle['p95']:.1f}, p99 {idle['p99']:.1f}, "
        f"max {idle['max']:.1f} ({idle['ticks']} ticks)"
    )
    print(
        f"GUI stall training: p50 {busy['p50']:.1f} ms, p95 {busy['p95']:.1f}, p99 {busy['p99']:.1f}, "
        f"max {busy['max']:.1f} ({busy['ticks']} ticks) -> p99 target <= 30 ms: "
        f"{'met' if busy['p99'] <= 30 else 'NOT met'}",
        flush=True,
    )

    # 2. Throughput, alternating so both sides see the same machine load (ABBA: who goes first alternates).
    rounds = []
    for round_number in range(args.rounds):
        sides = [
            lambda: headless_steps_per_second(setup, reference.text, reference.tokenizer, args.steps),
            lambda: studio_steps_per_second(studio, setup, args.steps),
        ]
        if round_number % 2:
            studio_side, headless = sides[1](), sides[0]()
        else:
            headless, studio_side = sides[0](), sides[1]()
        ratios = (
            studio_side.steps_per_second / headless.steps_per_second,
            headless.process_cpu_ms / studio_side.process_cpu_ms,
            headless.training_cpu_ms / studio_side.training_cpu_ms,
        )
        rounds.append(ratios)
        print(
            f"round {round_number + 1}: headless {headless.steps_per_second:.1f} steps/s, studio "
            f"{studio_side.steps_per_second:.1f} steps/s, ratio {ratios[0]:.2f}; CPU per step: process "
            f"{headless.process_cpu_ms:.2f} / {studio_side.process_cpu_ms:.2f} ms, ratio {ratios[1]:.3f}; "
            f"training thread {headless.training_cpu_ms:.2f} / {studio_side.training_cpu_ms:.2f} ms, ratio "
            f"{ratios[2]:.3f} (load average {load_average()})",
            flush=True,
        )
        if args.threads_report:
            print(f"  headless: {headless.threads}\n  studio:   {studio_side.threads}", flush=True)
    for index, what in enumerate(("wall-clock", "process CPU", "training-thread CPU")):
        values = [ratios[index] for ratios in rounds]
        print(
            f"{what} ratio studio/headless: median {statistics.median(values):.3f}, worst {min(values):.3f} "
            f"(rounds: {', '.join(f'{v:.2f}' for v in values)})"
            + (f" -> target >= 0.95: {'met' if statistics.median(values) >= 0.95 else 'NOT met'}" if index < 2 else "")
        )
    window.close()


if __name__ == "__main__":
    main()
