"""Compare two folders of pictures pixel for pixel (grab_views.py before and after a change).

    .venv/bin/python benchmarks/compare_pictures.py /tmp/before /tmp/after

Prints each picture that differs (how many pixels) or is missing, then a count; exits 1 if any differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage


def pixels(path: Path) -> np.ndarray:
    """(height, width) one 32-bit ARGB value per pixel."""
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_ARGB32)
    rows = np.frombuffer(image.constBits(), np.uint32).reshape(image.height(), image.bytesPerLine() // 4)
    return rows[:, : image.width()].copy()  # (height, width): the padding at each line's end left out


def differing_pixels(first: Path, second: Path) -> int | None:
    """How many pixels differ; None when the two pictures are not the same size."""
    a, b = pixels(first), pixels(second)
    if a.shape != b.shape:
        return None
    return int((a != b).sum())


def main(before: Path, after: Path) -> int:
    same = differ = 0
    for picture in sorted(before.glob("*.png")):
        other = after / picture.name
        if not other.exists():
            print(f"missing after: {picture.name}")
            differ += 1
            continue
        count = differing_pixels(picture, other)
        if count == 0:
            same += 1
            continue
        differ += 1
        print(f"{picture.name}: " + ("a different size" if count is None else f"{count} pixels differ"))
    print(f"{same} identical, {differ} different")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
