"""How long the four model panels take to redraw from a new 64-token snapshot (painting included).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_views.py [--tokens 64] [--repeats 30]

Each round gives every panel a new snapshot (two prompts alternate, so nothing can be skipped as
unchanged), settles the plots as the window does, and lets Qt paint; a round ends when its last paint
event has finished (timed in QApplication.notify, as in bench_explorer.py). The baseline, measured in
the same run, is the model's own trace of the same prompt: the other half of a keystroke's budget.
Figures are medians and 95th percentiles; CPU time is the GUI thread's own.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication, QGridLayout, QWidget

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "app"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from paint_clock import PAINT_CLOCK, settle, timed_application  # noqa: E402
from view_snapshots import make_snapshot  # noqa: E402

from app.selection import Selection  # noqa: E402
from app.views.attention_view import AttentionView  # noqa: E402
from app.views.embedding_view import EmbeddingView  # noqa: E402
from app.views.positional_view import PositionalView  # noqa: E402
from app.views.qkv_view import QKVView  # noqa: E402
from app.views.view_base import settle_plots  # noqa: E402

SENTENCE = "The cat sat on the mat . The dog sat on the log . A bird flew over the very tall tree"


def prompt(n_tokens: int, shift: int) -> str:
    words = (SENTENCE.split() * (n_tokens // 10 + 2))[shift : shift + n_tokens]
    return " ".join(words)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--views",
        default="embedding,positional,qkv,attention",
        help="which panels are on screen (the window redraws only visible ones)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    app = QApplication.instance() or timed_application()

    settings = dict(n_layers=4, n_heads=4, d_model=128, vocab_size=256, pos_encoding="learned")
    snapshots = [make_snapshot(prompt(args.tokens, shift), **settings) for shift in (0, 3)]
    assert all(s.n_tokens == args.tokens for s in snapshots)

    selection = Selection(4, 4)
    classes = dict(embedding=EmbeddingView, positional=PositionalView, qkv=QKVView, attention=AttentionView)
    views = [classes[name](selection) for name in args.views.split(",")]
    window = QWidget()
    grid = QGridLayout(window)
    for index, view in enumerate(views):
        grid.addWidget(view, index // 2, index % 2)
    window.resize(2400 if len(views) > 1 else 1200, 700 * ((len(views) + 1) // 2))  # each panel ~1200 × 700
    window.show()
    for snapshot in snapshots:  # warm up: first draws build items and caches
        for view in views:
            view.show_snapshot(snapshot)
        app.processEvents()

    loop = QEventLoop()
    settle(PAINT_CLOCK, loop)
    per_view = {type(view).__name__: [] for view in views}
    totals, cpu_totals = [], []
    for round_number in range(args.repeats):
        snapshot = snapshots[round_number % 2]
        PAINT_CLOCK.reset()
        cpu_start, start = time.thread_time(), time.perf_counter()
        for view in views:
            began = time.thread_time()
            view.show_snapshot(snapshot)
            per_view[type(view).__name__].append(time.thread_time() - began)
        settle_plots(views)  # as the window does before painting
        settle(PAINT_CLOCK, loop)  # until the last paint event of the round has finished
        totals.append(PAINT_CLOCK.last_end - start)
        cpu_totals.append(PAINT_CLOCK.last_cpu - cpu_start)

    from core.model.model import GPT

    torch.manual_seed(0)
    model = GPT(snapshots[0].config)
    ids = snapshots[0].trace.ids
    model.trace(ids)
    traces = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.trace(ids)
        traces.append(time.perf_counter() - start)

    trace_median = statistics.median(traces)
    print(f"{args.tokens} tokens, 4 layers × 4 heads, d_model 128, {args.repeats} rounds")
    print(f"baseline model.trace:          median {1000 * trace_median:6.1f} ms")
    for name, times in per_view.items():
        print(f"  {name:16s} show_snapshot CPU median {1000 * statistics.median(times):6.1f} ms")
    total_median, total_p95 = statistics.median(totals), percentile(totals, 0.95)
    print(
        f"{len(views)} panels, to the last paint: median {1000 * total_median:6.1f} ms, p95 {1000 * total_p95:6.1f} ms "
        f"(CPU time median {1000 * statistics.median(cpu_totals):.1f} ms)"
    )
    print(
        f"ratio (panels redrawn) / (trace): median {total_median / trace_median:.2f}, "
        f"p95 {total_p95 / trace_median:.2f}"
    )
    window.close()
    window.deleteLater()
    app.processEvents()  # widgets gone before the app is: no crash at exit


if __name__ == "__main__":
    main()
