"""A small animated-GIF writer in plain Python and numpy.

Qt's image writer cannot write GIF and Pillow is not a dependency, so the ~80 lines here do it:
pick one palette of at most 256 colours for all frames, map every pixel to its nearest palette
colour, and LZW-compress each frame as the GIF89a format asks.

    write_gif("attention.gif", frames, delay_ms=200)   # frames: list of (H, W, 3) uint8 arrays
"""
from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MAX_COLOURS = 256
MAX_CODE = 4095  # GIF codes are at most 12 bits


def build_palette(frames: Sequence[np.ndarray]) -> np.ndarray:
    """(256, 3) uint8: the colours used most across the frames (exactly, when there are <= 256)."""
    pixels = np.concatenate([frame.reshape(-1, 3) for frame in frames])       # (N, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    chosen = colours[np.argsort(-counts)[:MAX_COLOURS]]
    palette = np.zeros((MAX_COLOURS, 3), dtype=np.uint8)
    palette[: len(chosen)] = chosen
    return palette


def index_frame(frame: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """(H, W) uint8 palette indices: each pixel's nearest palette colour."""
    colours, inverse = np.unique(frame.reshape(-1, 3), axis=0, return_inverse=True)
    nearest = np.empty(len(colours), dtype=np.uint8)                           # (n_colours,)
    for start in range(0, len(colours), 2048):  # in slices, so memory stays small for photos
        chunk = colours[start:start + 2048, None, :].astype(np.int32)           # (n, 1, 3)
        distances = ((chunk - palette[None, :, :].astype(np.int32)) ** 2).sum(-1)  # (n, 256)
        nearest[start:start + 2048] = distances.argmin(axis=1)
    return nearest[inverse.reshape(-1)].reshape(frame.shape[:2])


def lzw_compress(indices: bytes, min_code_size: int = 8) -> bytes:
    """GIF's LZW: grow a dictionary of byte strings, write variable-width codes, least significant bit first."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    out = bytearray()
    bit_buffer = bit_count = 0

    def write(code: int, width: int) -> None:
        nonlocal bit_buffer, bit_count
        bit_buffer |= code << bit_count
        bit_count += width
        while bit_count >= 8:
            out.append(bit_buffer & 0xFF)
            bit_buffer >>= 8
            bit_count -= 8

    table: dict[tuple[int, int], int] = {}
    next_code, width = end + 1, min_code_size + 1
    write(clear, width)
    prefix = indices[0]
    for byte in indices[1:]:
        known = table.get((prefix, byte))
        if known is not None:
            prefix = known
            continue
        write(prefix, width)
        if next_code <= MAX_CODE:
            table[(prefix, byte)] = next_code
            if next_code == (1 << width) and width < 12:
                width += 1
            next_code += 1
        else:  # the dictionary is full: start a new one
            write(clear, width)
            table.clear()
            next_code, width = end + 1, min_code_size + 1
        prefix = byte
    write(prefix, width)
    write(end, width)
    if bit_count:
        out.append(bit_buffer & 0xFF)
    return bytes(out)


def _sub_blocks(data: bytes) -> bytes:
    """GIF stores data in blocks of at most 255 bytes, each preceded by its length, then a 0."""
    chunks = [bytes([len(data[i:i + 255])]) + data[i:i + 255] for i in range(0, len(data), 255)]
    return b"".join(chunks) + b"\x00"


def encode_gif(frames: Sequence[np.ndarray], delay_ms: int = 200, loop: bool = True) -> bytes:
    """The bytes of an animated GIF of `frames` ((H, W, 3) uint8 arrays, all the same size)."""
    if not frames:
        raise ValueError("An animation needs at least one frame.")
    height, width = frames[0].shape[:2]
    if any(frame.shape != frames[0].shape for frame in frames):
        raise ValueError("All frames of an animation must have the same size.")
    palette = build_palette(frames)
    parts = [b"GIF89a", struct.pack("<HHBBB", width, height, 0xF7, 0, 0), palette.tobytes()]
    if loop:  # NETSCAPE2.0 extension: repeat forever
        parts.append(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00")
    delay = max(1, round(delay_ms / 10))  # GIF counts in hundredths of a second
    for frame in frames:
        parts.append(struct.pack("<BBBBHBB", 0x21, 0xF9, 4, 0, delay, 0, 0))   # graphic control extension
        parts.append(struct.pack("<BHHHHB", 0x2C, 0, 0, width, height, 0))     # image descriptor
        parts.append(b"\x08" + _sub_blocks(lzw_compress(index_frame(frame, palette).tobytes())))
    parts.append(b"\x3B")
    return b"".join(parts)


def write_gif(path: str | Path, frames: Sequence[np.ndarray], delay_ms: int = 200) -> None:
    Path(path).write_bytes(encode_gif(frames, delay_ms))
