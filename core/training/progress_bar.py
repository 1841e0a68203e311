"""A one-line progress bar for the terminal: steps done, live loss, elapsed time and time left."""
from __future__ import annotations

import sys
import time


def format_seconds(seconds: float) -> str:
    """12.3 -> '0:12', 3725 -> '1:02:05'."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """Redraws in place on a terminal; on a pipe or log file it writes a fresh line now and then."""

    def __init__(self, total_steps: int, time_limit_s: float | None = None, stream=None, width: int = 24) -> None:
        self.total_steps = total_steps
        self.time_limit_s = time_limit_s
        self.stream = stream or sys.stderr
        self.width = width
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.perf_counter()
        self._last_drawn = 0.0
        self._first_step: int | None = None

    def update(self, step: int, loss: float, val_loss: float | None = None, force: bool = False) -> None:
        now = time.perf_counter()
        if self._first_step is None:
            self._first_step = step - 1  # a resumed run starts counting from where it was
        every = 0.1 if self.interactive else 10.0
        if not force and now - self._last_drawn < every and step < self.total_steps:
            return
        self._last_drawn = now
        line = self.line(step, loss, val_loss, now - self.started)
        if self.interactive:
            self.stream.write("\r" + line + "\033[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def line(self, step: int, loss: float, val_loss: float | None, elapsed: float) -> str:
        done = min(1.0, step / self.total_steps)
        filled = int(done * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        text = f"step {step}/{self.total_steps} [{bar}] {done:4.0%}  loss {loss:.4f}"
        if val_loss is not None:
            text += f"  val {val_loss:.4f}"
        text += f"  {format_seconds(elapsed)} elapsed, ETA {format_seconds(self.eta(step, elapsed))}"
        return text

    def eta(self, step: int, elapsed: float) -> float:
        """Seconds left: steps left at the pace so far, or the time limit if that comes first."""
        steps_done = step - (self._first_step or 0)
        left = (self.total_steps - step) * elapsed / steps_done if steps_done > 0 else 0.0
        if self.time_limit_s is not None:
            left = min(left, max(0.0, self.time_limit_s - elapsed))
        return left

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
