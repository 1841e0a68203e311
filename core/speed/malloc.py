"""Keep freed memory for reuse instead of handing it back to the operating system.

A trace keeps a whole forward pass (a few MB for the micro preset). When the previous trace is
dropped, glibc's malloc returns that memory to the OS, and the next pass touches it again page by page
(about a thousand page faults per trace, a quarter of its time). glibc stops doing this by itself after
a large free by raising two thresholds; we set them to the values it would settle on (32 MB and
64 MB) up front. Nothing happens off Linux/glibc, or when the user set MALLOC_* variables themselves.
Measured by benchmarks/bench_malloc.py (BENCHMARKS.md, "Tuning malloc"): without it a micro-preset training
step faults in ~12,000 fresh pages and takes ~1.36x as long.
"""
from __future__ import annotations

import ctypes
import os
import sys

# From glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1   # free memory at the top of the heap beyond this is given back to the OS
M_MMAP_THRESHOLD = -3   # blocks at least this big get their own mapping, unmapped again when freed

_tuned = False


def keep_freed_memory(mmap_threshold: int = 32 * 2**20, trim_threshold: int = 64 * 2**20) -> bool:
    """Ask glibc to keep freed blocks for reuse; True when the setting is in place."""
    global _tuned
    if _tuned:
        return True
    if not sys.platform.startswith("linux") or any(k.startswith("MALLOC_") for k in os.environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt   # the C library already loaded into this process
    except (OSError, AttributeError):          # not glibc (e.g. musl): nothing to tune
        return False
    _tuned = mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 and mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1
    return _tuned
