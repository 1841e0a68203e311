"""Writing a file so that a crash cannot half-write it, and saying in a sentence why a save failed.

`write_atomically` puts the bytes in a temporary file beside the target, flushes them to the disk and
renames the file over the target: whoever reads the target sees the old file or the new one, never a mix.
The operating system reports a failed write as an OSError with a number (errno): ENOSPC, EACCES...
`explain_write_failure` turns that into what the user can do about it, naming the folder involved.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

# What stays true after any failed save of ours: files are written to a temporary name and renamed
# into place only when complete, so the failure touched nothing the user had before.
NOTHING_LOST = "An earlier save there, if any, is unchanged, and the model in memory is untouched."


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Write `path` through the file this yields, all or nothing: it is a temporary file beside `path`
    (a fixed name, so a save killed midway is overwritten next time), flushed to the disk and renamed over
    `path` when the block ends. On any error `path` is unchanged. Raises OSError (see explain_write_failure)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())  # on the disk before the rename makes it the file
        os.replace(temporary, path)
    finally:
        remove_if_there(temporary)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, all or nothing (see atomic_file)."""
    with atomic_file(path) as file:
        file.write(data)


def remove_if_there(path: Path) -> None:
    """Delete a leftover temporary file; quietly nothing if it is not there (or its folder is not)."""
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        pass


def explain_write_failure(error: OSError, target: Path, what: str) -> str:
    """A sentence for `error`, raised while saving `what` (e.g. "the checkpoint") to `target`."""
    target = Path(target)
    code = error.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return (
            f"The disk is full: {what} could not be saved to {target}. "
            f"Free some space, or choose a folder on another disk, and save again. {NOTHING_LOST}"
        )
    if code == errno.EFBIG:
        return (
            f"The file is too large for this disk (or for a size limit set on this computer): {what} "
            f"could not be saved to {target}. Choose another disk, or save a smaller model. {NOTHING_LOST}"
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        folder = _folder_being_written(error, target)
        return (
            f"This folder cannot be written to: {folder}. You may not have permission there, or the disk "
            f"is read-only. Choose a folder you can write to (your home folder, say) and save again. "
            f"{NOTHING_LOST}"
        )
    blocker = _file_in_the_way(target)
    if code in (errno.ENOTDIR, errno.EEXIST) and blocker is not None:
        return (
            f"{what.capitalize()} cannot be saved to {target}: {blocker} is a file, not a folder. "
            f"Choose another name or place."
        )
    if code == errno.EISDIR:
        return f"{target} is a folder; choose a file name to save {what} to."
    return f"{what.capitalize()} could not be saved to {target}: {error.strerror or error}. {NOTHING_LOST}"


def _folder_being_written(error: OSError, target: Path) -> Path:
    """The folder that refused the write: the parent of the path the system named, else the target."""
    return Path(error.filename).parent if error.filename else target


def _file_in_the_way(target: Path) -> Path | None:
    """The nearest of target and its parents that exists as something other than a folder."""
    for path in (target, *target.parents):
        if path.exists() or path.is_symlink():
            return None if path.is_dir() else path
    return None
