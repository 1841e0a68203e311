"""Freed memory is kept for reuse instead of being faulted in afresh every time (core/speed/malloc.py).

Each setting runs in a fresh process (malloc's thresholds cannot be set back).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import json, resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from core.speed.malloc import keep_freed_memory
    assert keep_freed_memory()

def faults_of_a_fresh_block():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.ones(6 * 2**20, np.float32)   # 24 MB, written page by page, then freed
    del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults_of_a_fresh_block()                     # the first time, every setting faults its pages in
print(json.dumps(faults_of_a_fresh_block()))  # the second time, a kept block is reused
"""


def faults_of_the_second_block(setting: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | {"PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, setting], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    ).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or any(k.startswith("MALLOC_") for k in os.environ),
    reason="tunes glibc's malloc on Linux only, and never against the user's own MALLOC_ settings",
)
def test_a_freed_block_is_kept_for_reuse_once_tuned():
    # The mechanism, not a training step's faults (those depend on the machine's load and memory;
    # benchmarks/bench_malloc.py measures them): untuned, glibc maps a 24 MB block afresh each time (or
    # gives it back when freed); tuned, the freed block stays in the heap and the next one reuses it.
    from core.speed.malloc import keep_freed_memory

    assert keep_freed_memory() is True and keep_freed_memory() is True  # asking twice is harmless
    untuned, tuned = faults_of_the_second_block("untuned"), faults_of_the_second_block("tuned")
    # (A fault may bring in a 4 kB page or, with transparent huge pages, 2 MB: counts, not sizes, compared.)
    if untuned < 50:
        pytest.skip(f"this C library keeps a freed 24 MB block by itself ({untuned} faults): nothing to tune")
    assert tuned <= untuned / 10, (tuned, untuned)
