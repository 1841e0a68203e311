"""Look at the explorer showing a big model: the whole window at 1280x720 and 1920x1080, light theme.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/grab_big_model.py [--folder HF_FOLDER] [--out /tmp/big]

Without --folder: a SmolLM2-135M-shaped model with random weights (30 layers x 9 heads sharing 3
key/value heads; benchmarks/smollm2_shape.py) and a character tokenizer. With --folder: that Hugging
Face folder, opened by core.files.pretrained.load_pretrained (e.g. one bench_pretrained_load.py saves).
Writes <out>/window_<width>x<height>.png and the Q/K/V panel alone; open them and check the head grid,
the layer/head selectors and the grouped-query sentence are readable.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PROMPT = "The capital of France is Paris. Once upon a time there was a little girl who lived in a small village"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="a Hugging Face model folder (default: random SmolLM2 shape)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "big-model-window")
    parser.add_argument("--layer", type=int, default=17, help="layer to select before grabbing")
    parser.add_argument("--head", type=int, default=7, help="head to select before grabbing")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from app.state.model_in_use import ModelInUse
    from app.settings import AppSettings
    from app.window import MainWindow
    from bench_explorer import wait_until_drawn

    if args.folder:
        from core.files.pretrained import load_pretrained

        model, tokenizer = load_pretrained(args.folder)
        session = ModelInUse(model, tokenizer, args.folder.name, path=str(args.folder))
    else:
        from smollm2_shape import smollm2_sized_session

        session = smollm2_sized_session()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(
            settings=AppSettings(Path(folder) / "s.ini"), session=session, prompt=PROMPT, remember_layout=False
        )
        window.show()
        loop = QEventLoop()
        wait_until_drawn(window, loop)
        window.layer_selector.setValue(args.layer)
        window.head_selector.setValue(args.head)
        for width, height in ((1280, 720), (1920, 1080)):
            window.resize(width, height)
            for _ in range(5):
                app.processEvents()
            wait_until_drawn(window, loop)
            app.processEvents()
            path = args.out / f"window_{width}x{height}.png"
            window.grab().save(str(path))
            qkv = next(p.widget for p in window.panels if p.widget.objectName() == "qkvView")
            qkv.grab().save(str(args.out / f"qkv_{width}x{height}.png"))
            print(path)
        window.close()


if __name__ == "__main__":
    main()
