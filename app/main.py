"""`attention-lab`: open the explorer window.

    attention-lab                                   # the default model and a sample prompt
    attention-lab --prompt "the cat sat" --screenshot shot.png   # draw it, save a picture, exit
    attention-lab --model gpt2                      # a Hugging Face model from the cache (or a local folder)
    attention-lab --model gpt2 --download           # fetch it first if it is not cached (progress on the terminal)

A model named on the command line is opened before the window: if it cannot be, the sentence saying why
goes to the terminal and the exit status is 1 (there is no window yet to show it in).

Options are grouped so later features add their own (e.g. the studio's --train-steps) in one place:
add_arguments() declares them, and `startup_steps` runs them in order once the window is up.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtWidgets import QApplication

from . import screenshot

LOAD_ERRORS = (ValueError, OSError, RuntimeError, KeyError, OverflowError, MemoryError)  # a user's file or network


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompt", help="start with this prompt instead of a sample one")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--checkpoint", metavar="FOLDER", help="open this checkpoint folder instead of the default model"
    )
    which.add_argument("--gpt2", metavar="FOLDER", help="open GPT-2 weights from this local folder")
    which.add_argument(
        "--model",
        metavar="ID|FOLDER",
        help="open a Hugging Face model: a Hub id already in the cache (e.g. gpt2) or a local folder",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="with --model ID: download the model from the Hugging Face Hub if it is not cached",
    )
    parser.add_argument("--dark", action="store_true", default=None, help="use the dark theme")
    parser.add_argument(
        "--screenshot", metavar="FILE.png", help="save a picture of the window once the prompt is drawn, then exit"
    )
    parser.add_argument(
        "--train-steps",
        type=int,
        metavar="N",
        help="with --screenshot: train the studio's run for N steps before the picture is taken",
    )
    parser.add_argument("--settings", metavar="FILE.ini", help="read and write settings in this file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attention-lab", description="See inside a GPT: tokens, embeddings, Q/K/V, attention, live."
    )
    add_arguments(parser)
    return parser


# -- the model asked for, opened before the window ------------------------------------------------
def requested_session(args):
    """(session, recent item) for --checkpoint, --gpt2 or --model; (None, None) for the default model.
    Raises ValueError (or OSError) with the sentence to print."""
    from .state.model_in_use import load_checkpoint_model, load_gpt2_model, load_hub_model
    from .settings import RecentItem

    if args.checkpoint:
        return load_checkpoint_model(args.checkpoint), RecentItem("checkpoint", args.checkpoint)
    if args.gpt2:
        return load_gpt2_model(args.gpt2), RecentItem("gpt2", args.gpt2)
    if args.model:
        if args.download:
            download_with_progress(args.model)
        return load_hub_model(args.model), RecentItem("hub", args.model)
    return None, None


def download_with_progress(name: str) -> None:
    """Fetch a Hub model into the cache unless it (or a folder of that name) is already here; tqdm shows bytes."""
    from tqdm import tqdm

    from core.files import hub

    if Path(name).expanduser().exists() or hub.cached_folder(name) is not None:
        return
    with tqdm(unit="B", unit_scale=True, unit_divisor=1024, desc=name, file=sys.stderr) as bar:

        def report(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        hub.download(name, report)


# -- what happens once the window exists, in order --------------------------------------------------


def train_first(window, args) -> bool:
    """--train-steps N: the studio trains before the picture (its code is loaded only when asked for)."""
    if not args.train_steps:
        return True
    from .studio.startup import train_before_screenshot

    return train_before_screenshot(window, args)


def take_screenshot(window, args) -> bool:
    if args.screenshot:
        screenshot.when_drawn(window, lambda: screenshot.save_picture_and_quit(window, args.screenshot))
    return True


# Each step gets (window, args) and returns False to stop the start-up with exit code 1.
startup_steps: list[Callable] = [train_first, take_screenshot]


def open_window(args, session=None, recent=None):
    """The explorer window as `attention-lab` opens it, shown (the start-up benchmark times this), on
    `session` (None: the default model).

    Imported here, not at the top: `--help` answers without loading torch."""
    from .settings import AppSettings
    from .window import DEFAULT_SIZE, MainWindow

    settings = AppSettings(args.settings)
    if args.dark is not None:
        settings.dark_theme = args.dark
    if recent is not None:
        settings.add_recent(recent)
    with one_torch_thread():
        window = MainWindow(
            settings=settings,
            session=session,
            prompt=args.prompt,
            remember_layout=not args.screenshot,
            size=DEFAULT_SIZE if args.screenshot else None,
        )  # a picture need not fit a screen
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.download and not args.model:
        parser.error("--download goes with --model ID (the Hugging Face model to fetch)")
    if (
        args.screenshot
        and sys.platform.startswith("linux")
        and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a picture needs no screen
    try:  # before any window: a failure has only the terminal to be told on
        with one_torch_thread():
            session, recent = requested_session(args)
    except LOAD_ERRORS as error:
        print(f"attention-lab: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "attention-lab: stopped; what was downloaded is kept, and the same command continues it.", file=sys.stderr
        )
        return 130
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Attention Lab")

    from .crash import install_crash_handler

    if not args.screenshot:
        reporter = install_crash_handler()  # noqa: F841  (kept alive for the whole run)
    window = open_window(args, session, recent)
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
