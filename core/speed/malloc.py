"""Keep freed memory for reuse instead of handing it back to the operating system.

A training step allocates the same activations and gradients again and again. Left alone, glibc's
malloc returns much of that memory to the OS when a step frees it, and the next step touches it again
page by page. We raise the two thresholds that decide this (32 MB and 64 MB) up front; the Trainer
asks once per process. Nothing happens off Linux/glibc, or when the user set MALLOC_* variables.

Measured by benchmarks/bench_malloc.py (BENCHMARKS.md, "Tuning malloc"): untuned, a micro-preset
training step faulted in ~12,000 fresh pages and took ~1.36x as long; a trace gained nothing (glibc's
own adjustment suffices there), so the trace does not ask.
"""

from __future__ import annotations

import ctypes
import os
import sys

# From glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1  # free memory at the top of the heap beyond this is given back to the OS
M_MMAP_THRESHOLD = -3  # blocks at least this big get their own mapping, unmapped again when freed

_tuned = False


def keep_freed_memory(mmap_threshold: int = 32 * 2**20, trim_threshold: int = 64 * 2**20) -> bool:
    """Ask glibc to keep freed blocks for reuse; True when the setting is in place."""
    global _tuned
    if _tuned:
        return True
    if not sys.platform.startswith("linux") or any(k.startswith("MALLOC_") for k in os.environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library already loaded into this process
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        return False
    _tuned = mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 and mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1
    return _tuned
