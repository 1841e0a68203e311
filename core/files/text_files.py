"""Reading a text file the user picked: UTF-8, in blocks, with errors a student can act on.

    text = read_text_file("notes.txt")                     # the whole file as one string
    text = read_text_file("old.txt", errors="replace")     # bad bytes become U+FFFD instead of failing
    for block in iter_text_blocks("big.txt"):              # the same text, a block at a time
        ...

A file is read in blocks of bytes and decoded as it goes, so a 100 MB file never has to sit in
memory twice just to be checked. A UTF-8 byte-order mark at the start is dropped.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from pathlib import Path

DECODE_ERRORS = ("strict", "replace")  # what to do with bytes that are not UTF-8: fail, or put U+FFFD
BLOCK_BYTES = 1 << 20  # how many bytes to read and decode at a time
_BYTE_ORDER_MARK = "\ufeff"
_UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # how Windows "Unicode" text files start
# A block more than this share NUL bytes is not text (a disk image, a sparse file, binary data); NUL
# is valid UTF-8, so the decoder alone would accept gigabytes of it.
MAX_NUL_SHARE = 0.5
# A file read whole is held as its bytes' blocks, their decoded text, and the joined string.
COPIES_WHILE_READING = 3


class CorpusError(ValueError):
    """A text cannot be used for training; the message says why and what to do."""


def iter_text_blocks(path: str | os.PathLike, errors: str = "strict", block_bytes: int = BLOCK_BYTES) -> Iterator[str]:
    """Yield the decoded text of a file, about `block_bytes` bytes at a time (blocks may end mid-word).

    With errors="strict" a byte sequence that is not UTF-8 raises CorpusError naming its byte offset;
    with errors="replace" each bad byte becomes U+FFFD. The first block has any byte-order mark removed.
    """
    if errors not in DECODE_ERRORS:
        raise ValueError(f"errors must be one of {', '.join(DECODE_ERRORS)}, not {errors!r}.")
    if block_bytes < 1:
        raise ValueError(f"block_bytes must be at least 1, not {block_bytes}.")
    path = Path(path)
    with _open_for_reading(path) as file:
        undecoded = b""  # the bytes of a character cut in half at the end of the last block
        offset = 0  # where `undecoded` starts in the file, in bytes
        at_start = True
        while True:
            block = _read_block(file, path, block_bytes)
            _check_not_mostly_nul(block, path, offset + len(undecoded))
            at_end = not block
            data = undecoded + block
            try:
                text, used = codecs.utf_8_decode(data, errors, at_end)
            except UnicodeDecodeError as error:
                raise _not_utf8_error(
                    path,
                    offset + error.start,
                    data[error.start],
                    looks_like_utf16=offset == 0 and data.startswith(_UTF16_MARKS),
                ) from None
            undecoded, offset = data[used:], offset + used
            if at_start and text:
                text = text.removeprefix(_BYTE_ORDER_MARK)
                at_start = False
            if text:
                yield text
            if at_end:
                return


def read_text_file(path: str | os.PathLike, errors: str = "strict") -> str:
    """The whole file as one string (UTF-8; see iter_text_blocks for `errors`). A file too big for the
    memory this machine has free is refused before it is read (iter_text_blocks streams one instead)."""
    _check_fits_whole(Path(path))
    return "".join(iter_text_blocks(path, errors))


def _check_fits_whole(path: Path) -> None:
    from core.model.footprint import check_fits  # here: footprint imports torch, which reading text does not need

    try:
        size = path.stat().st_size if path.is_file() else 0  # anything else is explained when it is opened
    except OSError:
        return
    try:
        check_fits(
            COPIES_WHILE_READING * size,
            f"the text file {path} ({size:,} bytes)",
            "Train on a part of it (split it into smaller files), or close other programs.",
        )
    except ValueError as error:
        raise CorpusError(str(error)) from None


def _check_not_mostly_nul(block: bytes, path: Path, offset: int) -> None:
    if block and block.count(0) > MAX_NUL_SHARE * len(block):
        raise CorpusError(
            f"{path} is not text: from byte offset {offset:,} it is mostly NUL (zero) bytes, as in "
            "binary data or an empty disk image. Pick a plain-text file."
        )


# -- errors a student can act on ----------------------------------------------------------------------
def missing_file_sentence(path: Path, missing: str) -> str:
    """Why `path` is not a file to read: a folder or a dead link in its place, or else `missing` (it is not there)."""
    if path.is_dir():
        return f"{path} is a folder, but {path.name} must be a file."
    if path.exists():  # a pipe would wait forever, /dev/zero would never end
        return f"{path} is not an ordinary file (it is a device, a pipe or a socket); {path.name} must be a file."
    if path.is_symlink():
        return f"{path} is a link that leads to no file (a broken link, or a loop of links)."
    return missing


def check_is_file(path: Path, missing: str) -> None:
    """ValueError unless `path` is an ordinary file: a pipe would wait forever, /dev/zero never ends,
    and a folder cannot be read. `missing` is the sentence for nothing there at all."""
    if not path.is_file():
        raise ValueError(missing_file_sentence(path, missing))


def _open_for_reading(path: Path):
    if path.is_dir():
        raise CorpusError(f"{path} is a folder, not a text file; pick a file inside it.")
    if path.exists() and not path.is_file():  # a pipe would wait forever, /dev/zero would never end
        raise CorpusError(missing_file_sentence(path, ""))
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise CorpusError(f"There is no file at {path}; check the folder and the file name.") from None
    except PermissionError:
        raise CorpusError(
            f"{path} cannot be read: you do not have permission to open it. "
            "Copy it somewhere you can read, or change its permissions."
        ) from None
    except OSError as error:
        raise CorpusError(f"{path} cannot be opened: {error.strerror or error}.") from None


def _read_block(file, path: Path, block_bytes: int) -> bytes:
    try:
        return file.read(block_bytes)
    except OSError as error:
        raise CorpusError(
            f"Reading {path} failed part-way: {error.strerror or error}. "
            "Check that the file is still there and the disk is readable."
        ) from None


def _not_utf8_error(path: Path, offset: int, bad_byte: int, looks_like_utf16: bool) -> CorpusError:
    why = " It looks like UTF-16 text (it starts with a UTF-16 byte-order mark)." if looks_like_utf16 else ""
    return CorpusError(
        f"{path} is not valid UTF-8 text: the byte 0x{bad_byte:02x} at byte offset {offset} cannot be decoded.{why} "
        "Save the file as UTF-8, or load it with errors=\"replace\" to turn each bad byte into U+FFFD (\ufffd)."
    )
