"""Look at the explorer's panels and window: draw each from a real snapshot and save a picture.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/grab_views.py [--out /tmp/views] [--tokens 64]
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/grab_views.py --views all --window --out /tmp/after
    .venv/bin/python benchmarks/compare_pictures.py /tmp/before /tmp/after     # after a refactor: pixel for pixel

Writes <out>/<view>_<light|dark>_<scheme>.png, and with --window the whole window on the default model
(window_<W>x<H>_<theme>.png, and window_studio_... with the training studio's tab in front); open them
and check nothing is clipped or unreadable.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "app"))  # the test snapshots: a small GPT and a word tokenizer

from view_snapshots import make_snapshot  # noqa: E402

from app.selection import Selection  # noqa: E402
from app.theme import apply_theme  # noqa: E402
from app.views.attention_view import AttentionView  # noqa: E402
from app.views.embedding_view import EmbeddingView  # noqa: E402
from app.views.output_view import OutputView  # noqa: E402
from app.views.positional_view import PositionalView  # noqa: E402
from app.views.prompt_view import PromptView  # noqa: E402
from app.views.qkv_view import QKVView  # noqa: E402
from app.views.whatif_view import WhatIfView  # noqa: E402

VIEWS = {
    "embedding": (EmbeddingView, (1100, 560)),
    "positional": (PositionalView, (1200, 800)),
    "attention": (AttentionView, (1300, 560)),
    "qkv": (QKVView, (1300, 760)),
}
MORE_VIEWS = {  # with --views all
    "prompt": (PromptView, (500, 260)),
    "output": (OutputView, (500, 420)),
    "whatif": (WhatIfView, (500, 400)),
}
WINDOW_SIZES = ((1280, 720), (1920, 1080))
SENTENCE = "The cat sat on the mat. The dog sat on the log. A bird flew over the extraordinarily tall tree"


def prompt_of(n_tokens: int) -> str:
    words = (SENTENCE + " ") * (n_tokens // 20 + 1)
    return " ".join(words.split()[:n_tokens])


def settle(app: QApplication, seconds: float) -> None:
    """Let queued drawing and layout happen (pictures are taken after it, never timed)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()


def grab_views(app: QApplication, out: Path, names: list[str], schemes: list[str], n_tokens: int) -> None:
    views = VIEWS | MORE_VIEWS
    for scheme in schemes:
        snapshot = make_snapshot(
            prompt_of(n_tokens), pos_encoding=scheme, n_layers=4, n_heads=4, d_model=128, vocab_size=256
        )
        for name in names:
            view_class, size = views[name]
            for dark in (False, True):
                apply_theme(app, dark)
                selection = Selection(4, 4)
                selection.select(1, 2)
                view = view_class(selection)
                view.set_theme(dark)
                view.resize(*size)
                if name == "prompt":
                    view.set_text(prompt_of(n_tokens))
                view.show_snapshot(snapshot)
                view.show()
                settle(app, 0.1)  # layouts that follow the first drawing (axes that grew) settle first
                path = out / f"{name}_{'dark' if dark else 'light'}_{scheme}.png"
                view.grab().save(str(path))
                print(path)
                view.close()
                view.deleteLater()
                settle(app, 0.05)  # gone before the app is: no crash at exit


def grab_window(app: QApplication, out: Path) -> None:
    """The whole window on the default model, then with the studio's tab in front."""
    from app.settings import AppSettings
    from app.window import MainWindow

    for width, height in WINDOW_SIZES:
        for dark in (False, True):
            settings = AppSettings(Path(tempfile.mkdtemp()) / "settings.ini")  # never the user's
            settings.dark_theme = dark
            window = MainWindow(settings=settings, remember_layout=False, size=QSize(width, height))
            window.show()
            while window.controller.snapshot is None or window.controller.busy:
                app.processEvents()
            settle(app, 1.5)
            window.statusBar().clearMessage()
            settle(app, 0.2)
            theme = "dark" if dark else "light"
            for name in (f"window_{width}x{height}_{theme}", f"window_studio_{width}x{height}_{theme}"):
                if "studio" in name:
                    window.ensure_studio().parentWidget().raise_()
                    settle(app, 1.0)
                    window.statusBar().clearMessage()
                    settle(app, 0.2)
                window.grab().save(str(out / f"{name}.png"))
                print(out / f"{name}.png")
            window.close()
            window.deleteLater()
            settle(app, 0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/views")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--schemes", default="learned")
    parser.add_argument("--views", default=",".join(VIEWS), help="names, or 'all'")
    parser.add_argument("--window", action="store_true", help="also the whole window, light and dark")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ATTENTION_LAB_SETTINGS", str(Path(tempfile.mkdtemp()) / "settings.ini"))
    torch.set_num_threads(1)  # sums added in one order: the same pictures on every run, to compare pixel for pixel
    app = QApplication.instance() or QApplication([])
    app.setCursorFlashTime(0)  # the prompt's text cursor stays on: a blink cannot change a picture
    names = list(VIEWS | MORE_VIEWS) if args.views == "all" else args.views.split(",")
    grab_views(app, out, names, args.schemes.split(","), args.tokens)
    if args.window:
        grab_window(app, out)


if __name__ == "__main__":
    main()
