"""Measure every hostile file of issue 13: outcome, peak memory and time, for RELIABILITY.md.

    PYTHONPATH=.:tests python benchmarks/hostile_round_two.py [CASE ...]

Each case (tests/hostile_round_two.py, the same the tests open) is made in a temporary folder and opened
in a child process under a 1.5 GiB address-space cap (tests/hostile_child.py). Printed as a Markdown
table: peak is the resident memory the opening added to the process (after its imports).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hostile_round_two import CASES, make_one_word  # noqa: E402

CAP_MIB = 1536
# The issue's own size for the one-word file (the tests use 1 MB).
EXTRA = {"bpe-one-5-MB-word": (make_one_word(5_000_000), (), True)}


def measure(name: str, make) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        opener, path = make(Path(folder))
        done = subprocess.run(
            [sys.executable, str(ROOT / "tests" / "hostile_child.py"), opener, str(path), str(CAP_MIB)],
            capture_output=True,
            text=True,
            timeout=900,
            env={"PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}", "PATH": "/usr/bin:/bin", "HOME": folder},
        )
        lines = done.stdout.strip().splitlines()
        if done.returncode or not lines:
            return {"outcome": "died", "message": done.stderr.strip()[-200:], "seconds": None, "peak_mib": None}
        result = json.loads(lines[-1])
        result["message"] = result["message"].replace(folder, "…")
        return result


def main(names: list[str]) -> None:
    cases = {**CASES, **EXTRA}
    print("| input | outcome | peak memory (MiB) | time (s) |\n|---|---|---|---|")
    for name in names or cases:
        result = measure(name, cases[name][0])
        sentence = result["message"].replace("|", "\\|").replace("\n", " ")
        print(f"| {name} | {result['outcome']}: {sentence} | {result['peak_mib']} | {result['seconds']} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
