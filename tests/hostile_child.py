"""Open one hostile file in this process, under a memory cap, and print what happened as one JSON line.

    python tests/hostile_child.py OPENER PATH [CAP_MIB]

OPENER is one of OPENERS below. After the imports, the process may map at most CAP_MIB (default 1536)
more MiB of address space (RLIMIT_AS), so a loader that allocates what a file declares fails here
instead of filling the machine. The line: {"outcome": "refused" | "opened" | "crashed", "message": ...,
"seconds": ..., "peak_mib": peak resident memory above what the imports left}.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys
import time
from pathlib import Path

import torch

torch.set_num_threads(1)

from core.files.checkpoint import load_checkpoint  # noqa: E402  (after the thread setting)
from core.files.gpt2 import load_gpt2  # noqa: E402
from core.files.class_file import load_class_file  # noqa: E402
from core.files.text_files import read_text_file  # noqa: E402
from core.tokenizers import BPETokenizer  # noqa: E402
from core.training.train import main as train_main  # noqa: E402


def train_bpe(path: Path) -> str:
    calls = []
    tokenizer = BPETokenizer.train(read_text_file(path), 512, progress=lambda done, wanted: calls.append(done))
    return f"learned {len(tokenizer.merges)} merges; progress reported {len(calls)} times"


def run_cli(arguments: list[str]) -> str:
    """The training CLI: a refusal is exit status 2 with one 'error:' line and no traceback."""
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
        status = train_main(arguments)
    text = errors.getvalue()
    if status == 2 and "error:" in text and "Traceback" not in text:
        raise ValueError(text.strip().splitlines()[-1])
    return f"exit status {status}: {text[-300:]!r}"


OPENERS = {
    "checkpoint": lambda path: load_checkpoint(path) and "loaded",
    "session": lambda path: load_class_file(path) and "loaded",
    "gpt2": lambda path: load_gpt2(path) and "loaded",
    "text": lambda path: f"read {len(read_text_file(path)):,} characters",
    "bpe-train": train_bpe,
    "cli-train": lambda path: run_cli([str(path), "--steps", "1", "--quiet", "--batch-size", "2"]),
    "cli-resume": lambda path: run_cli(["lessons", "--resume", str(path), "--steps", "1", "--quiet"]),
}


def status_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS: now, VmHWM: the peak)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(f"/proc/self/status has no {field}")


def reset_peak() -> None:
    """Start VmHWM again from the current resident size (getrusage's peak would include the parent's,
    which a forked child inherits)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
        clear_refs.write("5")


def cap_address_space(cap_mib: int) -> None:
    with open("/proc/self/statm", encoding="ascii") as statm:
        mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = mapped + cap_mib * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> None:
    opener, path = sys.argv[1], Path(sys.argv[2])
    cap_mib = int(sys.argv[3]) if len(sys.argv) > 3 else 1536
    reset_peak()
    baseline = status_mib("VmRSS")
    cap_address_space(cap_mib)
    started = time.perf_counter()
    try:
        outcome, message = "opened", OPENERS[opener](path)
    except ValueError as error:
        outcome, message = "refused", str(error)
    except BaseException as error:  # noqa: BLE001  (what the test must see: anything but a sentence)
        outcome, message = "crashed", f"{type(error).__name__}: {error}"
    seconds = time.perf_counter() - started
    peak_mib = status_mib("VmHWM") - baseline
    print(
        json.dumps(
            {
                "outcome": outcome,
                "message": message,
                "seconds": round(seconds, 2),
                "peak_mib": round(max(peak_mib, 0.0), 1),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
