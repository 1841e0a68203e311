"""Will a model fit? Files say how big their tensors are before anything is read, so a model too big
for this computer is refused with a sentence instead of exhausting its memory."""
from __future__ import annotations

import os


def physical_memory_bytes() -> int | None:
    """This computer's memory, or None where the system does not say (e.g. Windows)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits_in_memory(needed_bytes: int, what: str) -> None:
    """ValueError if opening `what` needs more bytes than the computer has."""
    memory = physical_memory_bytes()
    if memory is not None and needed_bytes > memory:
        raise ValueError(f"Opening {what} needs about {needed_bytes / 2**30:.1f} GiB of memory, and this computer "
                         f"has {memory / 2**30:.1f} GiB. Open a smaller model.")


def available_memory_bytes() -> int | None:
    """Memory free for a new job now (Linux's MemAvailable: free plus what caches would give back);
    this computer's whole memory where the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file counts kB
    except (OSError, ValueError, IndexError):
        pass
    return physical_memory_bytes()
