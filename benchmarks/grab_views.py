"""Look at the explorer's model panels: draw each from a real snapshot and save a picture.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/grab_views.py [--out /tmp/views] [--tokens 64]

Writes <out>/<view>_<light|dark>_<scheme>.png; open them and check nothing is clipped or unreadable.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "app"))  # the test snapshots: a small GPT and a word tokenizer

from view_snapshots import make_snapshot  # noqa: E402

from app.selection import Selection  # noqa: E402
from app.theme import apply_theme  # noqa: E402
from app.views.attention_view import AttentionView  # noqa: E402
from app.views.embedding_view import EmbeddingView  # noqa: E402
from app.views.positional_view import PositionalView  # noqa: E402
from app.views.qkv_view import QKVView  # noqa: E402

VIEWS = {
    "embedding": (EmbeddingView, (1100, 560)),
    "positional": (PositionalView, (1200, 800)),
    "attention": (AttentionView, (1300, 560)),
    "qkv": (QKVView, (1300, 760)),
}
SENTENCE = "The cat sat on the mat. The dog sat on the log. A bird flew over the extraordinarily tall tree"


def prompt_of(n_tokens: int) -> str:
    words = (SENTENCE + " ") * (n_tokens // 20 + 1)
    return " ".join(words.split()[:n_tokens])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/views")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--schemes", default="learned")
    parser.add_argument("--views", default=",".join(VIEWS))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    for scheme in args.schemes.split(","):
        snapshot = make_snapshot(prompt_of(args.tokens), pos_encoding=scheme, n_layers=4, n_heads=4,
                                 d_model=128, vocab_size=256)
        for name in args.views.split(","):
            view_class, size = VIEWS[name]
            for dark in (False, True):
                apply_theme(app, dark)
                selection = Selection(4, 4)
                selection.select(1, 2)
                view = view_class(selection)
                view.set_theme(dark)
                view.resize(*size)
                view.show_snapshot(snapshot)
                view.show()
                app.processEvents()
                path = out / f"{name}_{'dark' if dark else 'light'}_{scheme}.png"
                view.grab().save(str(path))
                print(path)
                view.close()
                view.deleteLater()
                app.processEvents()  # gone before the app is: no crash at exit


if __name__ == "__main__":
    main()
