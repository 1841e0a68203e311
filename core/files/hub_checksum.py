"""Checking a file downloaded from the Hub before it goes into the cache: its size and its checksum."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path


def check_complete(partial: Path, size: int, etag: str, name: str, model_id: str) -> None:
    """A file of the wrong size or checksum is thrown away: it must never open as a model."""
    got = partial.stat().st_size
    if got != size:
        raise ValueError(
            f"The download of {name} for {model_id} stopped at {got} of {size} bytes; choose Download "
            "again to continue."
        )
    if not matches_checksum(partial, etag):
        partial.unlink()
        raise ValueError(
            f"The download of {name} for {model_id} arrived damaged (its checksum does not match) and "
            "was deleted; choose Download again."
        )


def matches_checksum(path: Path, etag: str) -> bool:
    """The Hub names big files by their sha256 and small ones by their git blob id (sha1 of a header and
    the bytes); any other etag cannot be checked, and passes."""
    if not re.fullmatch(r"[0-9a-f]{64}|[0-9a-f]{40}", etag):
        return True
    digest = hashlib.sha256() if len(etag) == 64 else hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as file:
        while block := file.read(4 * 2**20):
            digest.update(block)
    return digest.hexdigest() == etag
