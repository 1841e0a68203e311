"""Memory and time of loading a big text file into token ids: streamed encode_file vs the naive way.

    .venv/bin/python benchmarks/bench_corpora.py --megabytes 100

Baseline (naive): read the whole file, tokenizer.encode it into one Python list, np.array it.
Each way runs in a fresh Python process; "peak" is that process's peak RSS minus its RSS just
before loading, so imports do not count. Both use the project's CharTokenizer.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LINE = "the quick brown fox jumps over the lazy dog, and then the dog jumps back\n"


def _measure(way: str, path: str) -> dict:
    """Runs in the child: load `path` the given way and report peak memory and seconds."""
    import numpy as np

    from core.training.corpora import encode_file
    from core.tokenizers import CharTokenizer

    tokenizer = CharTokenizer.from_text(LINE)
    before = _rss_bytes()
    start = time.perf_counter()
    if way == "naive":
        ids = np.array(tokenizer.encode(Path(path).read_text(encoding="utf-8")), dtype=np.uint16)
    else:
        ids = encode_file(path, tokenizer)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before  # ru_maxrss is in KiB on Linux
    return {"way": way, "tokens": int(len(ids)), "seconds": seconds, "peak_bytes": peak}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _run_child(way: str, path: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", way, path], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=100.0)
    parser.add_argument("--child", nargs=2, metavar=("WAY", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(*args.child)))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "big.txt")
        with open(path, "w", encoding="utf-8") as file:
            file.write(LINE * int(args.megabytes * 1e6 / len(LINE)))
        size = os.path.getsize(path)
        results = {way: _run_child(way, path) for way in ("naive", "streamed")}
    print(f"file: {size / 1e6:.1f} MB, {results['streamed']['tokens']:,} tokens (CharTokenizer, uint16)")
    for way, result in results.items():
        print(f"{way:>9}: peak {result['peak_bytes'] / size:5.2f}x the file, {result['seconds']:6.1f} s")
    print(
        f"streamed / naive: peak memory {results['streamed']['peak_bytes'] / results['naive']['peak_bytes']:.2f}, "
        f"time {results['streamed']['seconds'] / results['naive']['seconds']:.2f}"
    )


if __name__ == "__main__":
    main()
