"""How fast does the explorer answer? Keystroke -> every visible panel redrawn, and start-up time.

(a) Keystroke latency: type one character at the end of a 63-token prompt (64 tokens after the
    keystroke; the next keystroke deletes it again) and time until the window says every visible
    panel has been redrawn from the new trace. p50/p95 over --keys keystrokes, against a bare
    `model.trace(ids)` at 64 tokens timed in the same run (the baseline of the ratio).
    Cases: the default model (resources/models/default, or the untrained fallback when it is missing)
    and a randomly initialised GPT-2-small-sized model (12 layers, 12 heads, d_model 768, vocab 50257;
    real GPT-2 weights cannot be downloaded here, and only the sizes matter for speed). Its tokenizer
    is a character tokenizer, so 64 characters are 64 tokens; the ids it never uses are labelled <id>.
    With --smollm2, also a randomly initialised SmolLM2-135M-shaped model (Llama: 30 layers, 9 query heads
    sharing 3 key/value heads, d_model 576, SwiGLU, RMSNorm, RoPE; benchmarks/smollm2_shape.py), same
    character tokenizer.
    --gpt2-tokens 64,512 also types at 512 tokens (the keystroke must not cost more as the prompt grows:
    since the incremental trace, core/model/kv_cache.py, a keystroke computes only the new token).
    --profile ROWS prints the GUI thread's ROWS costliest functions (cProfile) over the GPT-2-sized
    keystrokes; --skip-default leaves out the default model.
(c) --before DIR: the default model's keystroke p95 with the code in DIR (a checkout of an earlier
    commit, e.g. `git archive bd5b583 | tar -x -C /tmp/before`) and with this code, each in a fresh process,
    interleaved --rounds times; medians and worst of each, and the ratios. With --explain (DIR must have
    the explain panels too) also the same with the five "why" panels on screen.
(b) Start-up: from starting a fresh Python process until the window `attention-lab` opens (default
    model, sample prompt) is usable: the prompt traced, every visible panel drawn and painted, the
    prompt editable. Against a fresh process that only imports torch, PySide6 and pyqtgraph (the floor
    any Python app with these libraries pays), interleaved; byte code cached as after an install.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_explorer.py [--keys 60] [--starts 3]
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_explorer.py --startup-only --starts 7
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_explorer.py --smollm2 --keys 60 --starts 0
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_explorer.py --before /tmp/before --rounds 3
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_explorer.py --before /tmp/main --rounds 3 --explain
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_explorer.py --explain --skip-gpt2 --starts 0
    (--explain: the default model typed again with the five "why this next token?" panels floating on
    screen, p95 against the run without them)
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from paint_clock import PAINT_CLOCK, percentiles_ms, settle, timed_application

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# -- (b) start-up, measured in a child process -------------------------------------------------------
READY = "ready"  # what a child prints the moment its window (or its imports) is ready, with its CPU seconds


def startup_child() -> None:
    """Open the window exactly as `attention-lab` does (app.main.open_window), wait until the first prompt
    is traced and every visible panel drawn and painted, check it is usable, then say so."""
    import shiboken6
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from app.main import build_parser, open_window

    with tempfile.TemporaryDirectory() as folder:
        window = open_window(build_parser().parse_args(["--settings", str(Path(folder) / "s.ini")]))
        wait_until_drawn(window, QEventLoop())
        app.processEvents()  # and painted
        editor = window.prompt_view.editor
        assert editor.isEnabled() and not editor.isReadOnly() and window.snapshot.n_tokens > 0
        print(READY, time.process_time(), flush=True)
        window.close()
        shiboken6.delete(window)  # before the QApplication goes, or Qt may crash on exit
    app.quit()


def imports_child() -> None:
    import pyqtgraph  # noqa: F401
    import torch  # noqa: F401
    from PySide6 import QtWidgets  # noqa: F401

    print(READY, time.process_time(), flush=True)


def child_seconds(flag: str, bytecode_folder: str) -> tuple[float, float]:
    """(wall, CPU) seconds from starting the child's Python to its READY line (interpreter start-up
    included). CPU counts every thread of the child: on a busy machine it moves much less than wall time."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPYCACHEPREFIX": bytecode_folder}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, flag], stdout=subprocess.PIPE, text=True, env=env)
    for line in child.stdout:
        if line.startswith(READY):
            seconds = time.perf_counter() - start
            cpu_seconds = float(line.split()[1])
            break
    else:
        raise RuntimeError(f"{flag} ended without getting ready (exit code {child.wait()})")
    child.stdout.read()
    if child.wait() != 0:
        raise RuntimeError(f"{flag} failed with exit code {child.returncode}")
    return seconds, cpu_seconds


def bench_startup(starts: int) -> None:
    """Median over `starts` fresh processes of each kind, interleaved so both see the same load.

    Byte code is cached (in a temporary folder) as after an install or a first run: this machine's
    environment sets PYTHONDONTWRITEBYTECODE, which would recompile our modules on every start."""
    with tempfile.TemporaryDirectory() as bytecode_folder:
        for flag in ("--imports-child", "--startup-child"):  # warm-up: fills the byte-code cache
            child_seconds(flag, bytecode_folder)
        pairs = []
        for _ in range(starts):
            pairs.append((child_seconds("--imports-child", bytecode_folder),
                          child_seconds("--startup-child", bytecode_folder)))
    for kind, which in (("wall", 0), ("CPU", 1)):
        imports = statistics.median(p[0][which] for p in pairs)
        window = statistics.median(p[1][which] for p in pairs)
        ratio = statistics.median(p[1][which] / p[0][which] for p in pairs)
        print(f"(b) start-up {kind} time, process start -> usable window with the first prompt drawn: median "
              f"{window:.2f} s over {starts} starts; imports alone (torch, PySide6, pyqtgraph) {imports:.2f} s; "
              f"ratio {ratio:.2f}")
        print("    each pair (imports, window): "
              + ", ".join(f"({a[which]:.2f}, {b[which]:.2f})" for a, b in pairs))
    print(f"    load average at the end {os.getloadavg()[0]:.1f}")


# -- (a) keystroke latency -----------------------------------------------------------------------------
def wait_until_drawn(window, loop) -> None:
    def check(*_ignored):
        if not window.controller.busy and window.snapshot is not None:
            loop.quit()

    window.drawn.connect(check)
    if window.controller.busy or window.snapshot is None:
        loop.exec()
    window.drawn.disconnect(check)


def gpt2_small_sized_session():
    import torch

    from app.state.model_in_use import ModelInUse
    from core import GPT, GPTConfig
    from core.tokenizers import CharTokenizer

    torch.manual_seed(0)
    config = GPTConfig(vocab_size=50257, context_length=1024, d_model=768, n_layers=12, n_heads=12)
    tokenizer = CharTokenizer("".join(chr(c) for c in range(32, 127)) + "\n")
    return ModelInUse(GPT(config).eval(), tokenizer, "random GPT-2-small-sized model", trained=False)


def prompt_of(tokenizer, n_tokens: int) -> str:
    """A prompt of exactly n_tokens tokens, cut from the sample prompts repeated."""
    from app.state.model_in_use import sample_prompts

    text = " ".join(sample_prompts()) * 20
    low, high = 1, len(text)
    while low < high:  # the shortest prefix with n_tokens tokens
        middle = (low + high) // 2
        if len(tokenizer.encode(text[:middle])) < n_tokens:
            low = middle + 1
        else:
            high = middle
    return text[:low]


def bench_keystrokes(window, session, keys: int, label: str, n_tokens: int = 64, profile: int = 0) -> None:
    """Type `keys` keystrokes at the end of an n_tokens prompt; with `profile`, also print the GUI thread's
    `profile` costliest functions (cProfile, time per keystroke) over those keystrokes."""
    import torch
    from PySide6.QtCore import QEventLoop, Qt
    from PySide6.QtTest import QTest

    app_window = window
    app_window.set_session(session)
    tokenizer = session.tokenizer
    base = prompt_of(tokenizer, n_tokens - 1)
    loop = QEventLoop()
    app_window.prompt_view.set_text(base)
    base_tokens = len(tokenizer.encode(base))
    # The window may still show the previous model's or prompt's snapshot while the new one is being
    # traced: wait for this model's snapshot of this prompt, or its trace is timed as the first keystroke.
    def showing_base() -> bool:
        shown = app_window.snapshot
        return shown is not None and shown.config is session.config and shown.n_tokens == base_tokens

    while not showing_base():
        wait_until_drawn(app_window, loop)
        loop.processEvents()
    clock = PAINT_CLOCK
    settle(clock, loop)
    editor = app_window.prompt_view.editor

    visible = [p for p in app_window.panels if p.is_on_screen()]
    clock.panels = {p.widget: p.widget.objectName() for p in visible}
    clock.forget_receivers()
    redraw_ms: dict[str, list[float]] = {p.widget.objectName(): [] for p in visible}
    originals = {}
    for panel in app_window.panels:  # time each panel's redraw, to see where the milliseconds go
        if hasattr(panel.widget, "show_snapshot"):
            original = panel.widget.show_snapshot
            originals[panel.widget] = original

            def timed(snapshot, original=original, name=panel.widget.objectName()):  # noqa: B008 (bound now)
                start = time.thread_time()  # CPU time: steadier than wall time on a shared machine
                original(snapshot)
                redraw_ms.setdefault(name, []).append(1e3 * (time.thread_time() - start))

            panel.widget.show_snapshot = timed

    maker = app_window.controller._worker._maker  # time the worker's part too: tokenize, trace, label
    worker_ms: list[tuple[float, float]] = []  # (wall, CPU) of each snapshot made

    def timed_make(*request, original=maker.make):  # noqa: B008 (bound now)
        wall, cpu_time = time.perf_counter(), time.thread_time()
        made = original(*request)
        worker_ms.append((1e3 * (time.perf_counter() - wall), 1e3 * (time.thread_time() - cpu_time)))
        return made

    maker.make = timed_make
    ids = torch.tensor(tokenizer.encode(base + "a"))
    # With a character tokenizer "a" is one more token; with BPE it may join the last word's token.
    typed_tokens = len(ids)
    from app.state.snapshot_maker import trace_threads
    threads_before = torch.get_num_threads()
    torch.set_num_threads(trace_threads(session.model))  # the baseline traces as the window's worker does
    latencies, to_drawn, cpu, traces = [], [], [], []
    drawn_at = [0.0]  # when the window said every visible panel has been redrawn (painting follows)

    def note_drawn(*_ignored) -> None:
        drawn_at[0] = time.perf_counter()

    app_window.drawn.connect(note_drawn)
    paint_ms: dict[str, list[float]] = {name: [] for name in clock.panels.values()}
    profiler = cProfile.Profile() if profile else None
    for key in range(keys):
        clock.reset()
        cpu_start, start = time.thread_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        QTest.keyClick(editor, Qt.Key.Key_A if key % 2 == 0 else Qt.Key.Key_Backspace)
        wait_until_drawn(app_window, loop)
        settle(clock, loop)  # every paint the redraw caused has been delivered
        if profiler:
            profiler.disable()
        assert clock.last_end > drawn_at[0], "the new snapshot was never painted"
        latencies.append(clock.last_end - start)
        to_drawn.append(drawn_at[0] - start)
        cpu.append(clock.last_cpu - cpu_start)
        for name, seconds in clock.per_panel.items():
            paint_ms[name].append(1e3 * seconds)
        assert app_window.snapshot.n_tokens == (typed_tokens if key % 2 == 0 else base_tokens)
        start = time.perf_counter()  # the baseline, interleaved with the measurement
        session.model.trace(ids)
        traces.append(time.perf_counter() - start)
    torch.set_num_threads(threads_before)
    app_window.drawn.disconnect(note_drawn)
    clock.panels = {}
    clock.forget_receivers()
    for widget, original in originals.items():
        widget.show_snapshot = original
    del maker.make  # the class's own again

    if profiler:
        print_profile(profiler, profile, keys, f"{label}, {n_tokens} tokens")
    p50, p95 = percentiles_ms(latencies)
    trace_ms = 1e3 * statistics.median(traces)
    print(f"(a) {label}: keystroke -> last paint of the visible panels, {n_tokens} tokens, {keys} keys: "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms; bare model.trace {trace_ms:.1f} ms "
          f"({trace_threads(session.model)} torch thread(s), as in the worker); "
          f"ratio p95/trace {p95 / trace_ms:.2f}")
    print(f"    keystroke p50/p95 over a bare full trace: {p50 / trace_ms:.2f} / {p95 / trace_ms:.2f}")
    slowest = sorted(range(len(latencies)), key=latencies.__getitem__, reverse=True)[:3]
    print("    slowest keystrokes (number: ms): " + ", ".join(f"{k + 1}: {1e3 * latencies[k]:.0f}" for k in slowest))
    drawn_p50, drawn_p95 = percentiles_ms(to_drawn)
    cpu_p50, cpu_p95 = percentiles_ms(cpu)
    print("    keystroke -> every visible panel's show_snapshot done (before painting): "
          f"p50 {drawn_p50:.1f}, p95 {drawn_p95:.1f} ms; "
          f"GUI-thread CPU per keystroke: p50 {cpu_p50:.1f}, p95 {cpu_p95:.1f} ms")
    for kind, made in (("appending", worker_ms[0::2]), ("deleting", worker_ms[1::2])):
        if made:
            wall, cpu_ms = (statistics.median(m[which] for m in made) for which in (0, 1))
            print(f"    worker, snapshot made {kind} a character: p50 wall {wall:.1f}, p50 CPU {cpu_ms:.1f} ms "
                  "(its own thread)")
    parts = ", ".join(f"{name} {statistics.median(ms):.1f}" for name, ms in redraw_ms.items() if ms)
    print(f"    median CPU time of show_snapshot per redrawn panel (ms): {parts}")
    paints = ", ".join(f"{name} {statistics.median(ms):.1f}" for name, ms in paint_ms.items() if ms)
    print(f"    median CPU time of the paint events per visible panel (ms): {paints}")
    return p50, p95


def print_profile(profiler: cProfile.Profile, rows: int, keys: int, label: str) -> None:
    """The GUI thread's costliest functions, by their own time and by time including what they call,
    in ms per keystroke (the profiler's overhead inflates both; compare them with each other)."""
    stats = pstats.Stats(profiler)
    for key, title in (("tottime", "own time"), ("cumtime", "time with callees")):
        print(f"    cProfile of the GUI thread, {label}, by {title} (ms per keystroke):")
        ranked = sorted(stats.stats.items(), key=lambda item: item[1][2 if key == "tottime" else 3], reverse=True)
        for (file, line, function), (_, calls, own, total, _) in ranked[:rows]:
            place = f"{Path(file).name}:{line}" if line else file
            print(f"      {1e3 * own / keys:7.2f} {1e3 * total / keys:7.2f}  {calls / keys:6.0f}x  "
                  f"{function} ({place})")


EXPLAIN_WINDOW = (2560, 1440)  # the window's size with --explain, with and without the panels: room for five more
EXPLAIN_HEIGHT = 420  # pixels: each explain panel's height along the bottom


def show_explain_panels(window) -> None:
    """The five "why this next token?" panels built and on screen at once, side by side along the bottom
    of the window (behind the attention tab only one of them would be drawn). Floating docks would not do:
    offscreen, a floating dock has no title bar of its own, and the window counts it as out of sight."""
    from PySide6.QtCore import Qt

    from app.views.explain_panels import EXPLAIN_VIEWS

    docks = []
    for _, _, name in EXPLAIN_VIEWS:
        dock = next(p.dock for p in window.panels if p.widget.objectName() == name)
        if docks:
            window.splitDockWidget(docks[-1], dock, Qt.Orientation.Horizontal)
        else:
            window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        dock.show()
        docks.append(dock)
        window.find_widget(name)
    window.resizeDocks(docks, [EXPLAIN_HEIGHT] * len(docks), Qt.Orientation.Vertical)
    window.resizeDocks(docks, [window.width() // len(docks)] * len(docks), Qt.Orientation.Horizontal)


# -- (c) this code against an earlier checkout, each in a fresh process ------------------------------
def keystroke_figures(folder: Path, keys: int, explain: bool) -> dict[str, tuple[float, float]]:
    """The default model's keystroke p95 and GUI-thread CPU p50 (ms) with the code in `folder`, from a fresh
    process: {"default model": (p95, cpu)}, and with `explain` also {"+ 5 explain panels": (p95, cpu)}."""
    env = dict(os.environ, PYTHONPATH=str(folder), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, str(folder / "benchmarks" / "bench_explorer.py"), "--skip-gpt2", "--starts", "0",
         "--keys", str(keys), *(["--explain"] if explain else [])],
        cwd=folder, env=env, capture_output=True, text=True, check=True,
    )
    figures, case, p95 = {}, "", 0.0
    for line in result.stdout.splitlines():
        if line.startswith("(a) default model"):  # a case's first line, then its GUI-thread CPU two lines on
            case = "+ 5 explain panels" if "explain panels" in line.split(":")[0] else "default model"
            p95 = float(line.split("p95 ")[1].split(" ms")[0])
        elif case and "GUI-thread CPU per keystroke: p50 " in line:
            figures[case] = (p95, float(line.split("GUI-thread CPU per keystroke: p50 ")[1].split(",")[0]))
    return figures


def bench_against(before: Path, rounds: int, keys: int, explain: bool) -> None:
    """Keystroke p95 (and GUI-thread CPU p50) before and after, each round in two fresh processes, in turn."""
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for _ in range(rounds):  # interleaved: the machine's load drifts
        runs["before"].append(keystroke_figures(before, keys, explain))
        runs["after"].append(keystroke_figures(ROOT, keys, explain))
    for case in runs["after"][0]:
        p95 = {name: [figures[case][0] for figures in values] for name, values in runs.items()}
        cpu = {name: [figures[case][1] for figures in values] for name, values in runs.items()}
        for name in runs:
            print(f"(c) {case}, 64 tokens, keystroke p95 {name}: median {statistics.median(p95[name]):.1f} ms, "
                  f"worst {max(p95[name]):.1f} ms ({', '.join(f'{v:.1f}' for v in p95[name])}); GUI-thread CPU "
                  f"p50 {', '.join(f'{v:.1f}' for v in cpu[name])} ms")
        ratios = ", ".join(f"{a / b:.2f}" for a, b in zip(p95["after"], p95["before"]))
        median_ratio = statistics.median(p95["after"]) / statistics.median(p95["before"])
        cpu_ratio = statistics.median(cpu["after"]) / statistics.median(cpu["before"])
        print(f"    {case}: after / before, keystroke p95: median {median_ratio:.2f}, worst "
              f"{max(p95['after']) / max(p95['before']):.2f}, per round {ratios}; GUI-thread CPU p50: {cpu_ratio:.2f}")
    print(f"    load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=60, help="keystrokes per model")
    parser.add_argument("--starts", type=int, default=3, help="fresh processes for the start-up time")
    parser.add_argument("--skip-gpt2", action="store_true")
    parser.add_argument("--skip-default", action="store_true", help="type only with the larger models")
    parser.add_argument("--explain", action="store_true",
                        help="also type with the logit lens, attribution, patching, neurons and KV cache "
                        "panels visible")
    parser.add_argument("--smollm2", action="store_true", help="also a SmolLM2-135M-shaped model (random weights)")
    parser.add_argument("--gpt2-tokens", default="64",
                        help="prompt lengths for the GPT-2-small-sized model, e.g. 64,512")
    parser.add_argument("--profile", type=int, default=0, metavar="ROWS",
                        help="print the GUI thread's ROWS costliest functions (cProfile) for the GPT-2-sized runs "
                        "and, with --explain, the default model with the five panels")
    parser.add_argument("--before", type=Path, help="an earlier checkout to compare the default model with (c)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of (c)")
    parser.add_argument("--startup-only", action="store_true", help="measure only the start-up (b)")
    parser.add_argument("--startup-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--imports-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.startup_child:
        return startup_child()
    if args.imports_child:
        return imports_child()
    if args.startup_only:
        return bench_startup(args.starts)
    if args.before:
        return bench_against(args.before.resolve(), args.rounds, args.keys, args.explain)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch

    app = timed_application()
    from PySide6.QtCore import QSize

    from app.settings import AppSettings
    from app.state.model_in_use import default_model
    from app.window import MainWindow

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        session, notice = default_model()
        size = QSize(*EXPLAIN_WINDOW) if args.explain else None
        window = MainWindow(settings=AppSettings(Path(folder) / "s.ini"), session=session, prompt="",
                            remember_layout=False, size=size)
        window.show()
        app.processEvents()
        print(f"default model: {session.describe()}" + (f" ({notice})" if notice else ""))
        if not args.skip_default:
            _, without = bench_keystrokes(window, session, args.keys, "default model")
        if args.explain:
            show_explain_panels(window)
            _, with_explain = bench_keystrokes(window, session, args.keys, "default model + the 5 explain panels",
                                              profile=args.profile)
            print(f"(a) explain panels: default-model keystroke p95 {with_explain:.1f} ms with them visible, "
                  f"{without:.1f} ms without; ratio {with_explain / without:.2f}")
        if not args.skip_gpt2:
            big = gpt2_small_sized_session()
            print(f"GPT-2-small-sized: {big.describe()}")
            for n_tokens in (int(n) for n in args.gpt2_tokens.split(",")):
                bench_keystrokes(window, big, max(10, args.keys // 3), "GPT-2-small-sized", n_tokens, args.profile)
            del big
        if args.smollm2:
            from smollm2_shape import smollm2_sized_session

            smol = smollm2_sized_session()
            print(f"SmolLM2-135M-shaped: {smol.describe()}")
            bench_keystrokes(window, smol, max(20, args.keys // 2), "SmolLM2-135M-shaped")
        window.close()
    if args.starts:
        bench_startup(args.starts)


if __name__ == "__main__":
    main()
