"""`attention-lab`: open the explorer window.

    attention-lab                                   # the default model and a sample prompt
    attention-lab --prompt "the cat sat" --screenshot shot.png   # draw it, save a picture, exit

Options are grouped so later features add their own (e.g. the studio's --train-steps) in one place:
add_arguments() declares them, and `startup_steps` runs them in order once the window is up.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

SETTLE_MS = 150  # after the last panel is drawn, let layouts settle before a picture is taken


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompt", help="start with this prompt instead of a sample one")
    parser.add_argument("--checkpoint", metavar="FOLDER",
                        help="open this checkpoint folder instead of the default model")
    parser.add_argument("--gpt2", metavar="FOLDER", help="open GPT-2 weights from this local folder")
    parser.add_argument("--dark", action="store_true", default=None, help="use the dark theme")
    parser.add_argument("--screenshot", metavar="FILE.png",
                        help="save a picture of the window once the prompt is drawn, then exit")
    parser.add_argument("--train-steps", type=int, metavar="N",
                        help="with --screenshot: train the studio's run for N steps before the picture is taken")
    parser.add_argument("--settings", metavar="FILE.ini", help="read and write settings in this file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attention-lab",
                                     description="See inside a GPT: tokens, embeddings, Q/K/V, attention, live.")
    add_arguments(parser)
    return parser


# -- what happens once the window exists, in order --------------------------------------------------
def open_requested_model(window, args) -> bool:
    if args.checkpoint:
        return window.open_checkpoint(args.checkpoint)
    if args.gpt2:
        return window.open_gpt2_folder(args.gpt2)
    return True


def train_first(window, args) -> bool:
    """--train-steps N: the studio trains before the picture (its code is loaded only when asked for)."""
    if not args.train_steps:
        return True
    from .studio.startup import train_before_screenshot

    return train_before_screenshot(window, args)


def take_screenshot(window, args) -> bool:
    if args.screenshot:
        when_drawn(window, lambda: _save_and_quit(window, args.screenshot))
    return True


# Each step gets (window, args) and returns False to stop the start-up with exit code 1.
startup_steps: list[Callable] = [open_requested_model, train_first, take_screenshot]


def when_drawn(window, callback: Callable[[], None]) -> None:
    """Call `callback` once, when the newest prompt has been traced and every visible panel redrawn."""
    called = False

    def check(*_ignored) -> None:
        nonlocal called
        if called or window.controller.busy or window.snapshot is None:
            return
        called = True
        window.drawn.disconnect(check)
        QTimer.singleShot(SETTLE_MS, callback)

    window.drawn.connect(check)
    QTimer.singleShot(0, check)  # already drawn (nothing left to wait for)?


def _save_and_quit(window, path: str) -> None:
    ok = window.save_picture(path)
    print(f"Saved a picture of the window to {path}" if ok else f"Could not write {path}", file=sys.stderr)
    QApplication.instance().exit(0 if ok else 1)


def open_window(args):
    """The explorer window as `attention-lab` opens it, shown (the start-up benchmark times this).

    Imported here, not at the top: `--help` answers without loading torch."""
    from .settings import AppSettings
    from .window import MainWindow

    settings = AppSettings(args.settings)
    if args.dark is not None:
        settings.dark_theme = args.dark
    with one_torch_thread():
        window = MainWindow(settings=settings, prompt=args.prompt, remember_layout=not args.screenshot)
    window.show()
    return window


@contextmanager
def one_torch_thread():
    """Loading the default model is a few hundred small tensor operations: on one thread none of them
    waits for a second core (on a busy 2-core machine each wait costs milliseconds, half a second in all).
    Only this thread is affected; it gets its usual number back afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# -- the entry point ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.screenshot and sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a picture needs no screen
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Attention Lab")

    from .crash import install_crash_handler

    if not args.screenshot:
        reporter = install_crash_handler()  # noqa: F841  (kept alive for the whole run)
    window = open_window(args)
    for step in startup_steps:
        if not step(window, args):
            window.close()
            return 1
    code = app.exec()
    if window.isVisible():
        window.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
