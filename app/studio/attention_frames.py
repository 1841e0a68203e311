"""The probe's attention over training, as pictures: one frame per timeline step, every head in a grid.

    frames = attention_frames(timeline, config, probe_ids)     # [(step, QImage), ...]
    export_png_sequence(folder, frames)                        # attention_step000120.png, ...
    export_gif(path, frames)                                   # one animated GIF

Frames are painted directly from the numbers (no widget is grabbed), so the export works offscreen
and every pixel of a head is exactly its attention weight through the viridis colour map.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from app.views.plot_style import PROBABILITY_MAP, colormap
from core.teaching.detectors import pattern_names
from core.model.model import GPT

from .gif_writer import write_gif

CELL_PIXELS = 6          # pixels per attention cell (a 48-token probe: 288-pixel heads)
MAX_HEAD_PIXELS = 240    # heads are shrunk (never below 2 px per cell) to keep frames a sensible size
GAP, TITLE_HEIGHT, LABEL_HEIGHT = 12, 30, 18
BACKGROUND, MASKED, TEXT = QColor("#ffffff"), QColor("#e8eaed"), QColor("#202124")


def patterns_of(model: GPT, probe_ids) -> np.ndarray:
    """(n_layers, n_heads, T, T) attention of the probe for the model's current weights."""
    trace = model.trace(probe_ids, names=pattern_names(model.config.n_layers))
    return np.stack([trace.numpy(name) for name in pattern_names(model.config.n_layers)])


def _head_image(pattern: np.ndarray) -> QImage:
    """(T, T) weights -> a T×T RGB image through viridis; the masked future in light grey."""
    lookup = colormap(PROBABILITY_MAP).getLookupTable(0.0, 1.0, 256, alpha=False)  # (256, 3) uint8
    levels = np.clip(np.nan_to_num(pattern, nan=0.0), 0.0, 1.0)
    rgb = lookup[(levels * 255).round().astype(np.int64)]                           # (T, T, 3)
    T = pattern.shape[0]
    rgb[np.triu(np.ones((T, T), dtype=bool), k=1)] = (MASKED.red(), MASKED.green(), MASKED.blue())
    rgb = np.ascontiguousarray(rgb.astype(np.uint8))
    return QImage(rgb.data, T, T, 3 * T, QImage.Format.Format_RGB888).copy()


def render_frame(patterns: np.ndarray, title: str) -> QImage:
    """Every head of (L, H, T, T) patterns in a grid, under a title."""
    n_layers, n_heads, T, _ = patterns.shape
    head = int(min(max(2 * T, CELL_PIXELS * T), max(MAX_HEAD_PIXELS, 2 * T)))
    width = GAP + n_heads * (head + GAP)
    height = TITLE_HEIGHT + n_layers * (LABEL_HEIGHT + head + GAP) + GAP
    image = QImage(width, height, QImage.Format.Format_RGB888)
    image.fill(BACKGROUND)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # sharp cells
    title_font = QFont()
    title_font.setPixelSize(18)
    title_font.setBold(True)
    label_font = QFont()
    label_font.setPixelSize(13)
    painter.setPen(TEXT)
    painter.setFont(title_font)
    painter.drawText(QRect(GAP, 0, width - 2 * GAP, TITLE_HEIGHT), int(Qt.AlignmentFlag.AlignVCenter), title)
    painter.setFont(label_font)
    for layer in range(n_layers):
        top = TITLE_HEIGHT + layer * (LABEL_HEIGHT + head + GAP)
        for index in range(n_heads):
            left = GAP + index * (head + GAP)
            painter.drawText(QRect(left, top, head, LABEL_HEIGHT), int(Qt.AlignmentFlag.AlignLeft), f"L{layer} H{index}")
            painter.drawImage(QRect(left, top + LABEL_HEIGHT, head, head), _head_image(patterns[layer, index]))
    painter.end()
    return image


def image_to_rgb(image: QImage) -> np.ndarray:
    """(H, W, 3) uint8 copy of a QImage."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def attention_frames(steps_and_weights, config, probe_ids, progress: Callable[[int, int], None] | None = None,
                     ) -> list[tuple[int, QImage]]:
    """One frame per (step, WeightSnapshot): load the weights into a scratch model and trace the probe."""
    model = GPT(config).eval()
    frames = []
    items = list(steps_and_weights)
    for index, (step, weights) in enumerate(items):
        model.load_state_dict(weights.state_dict())
        frames.append((step, render_frame(patterns_of(model, probe_ids), f"Attention on the probe · step {step}")))
        if progress is not None:
            progress(index + 1, len(items))
    return frames


def export_png_sequence(folder: str | Path, frames: list[tuple[int, QImage]]) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width = len(str(max(step for step, _ in frames)))
    paths = []
    for step, image in frames:
        path = folder / f"attention_step{step:0{width}d}.png"
        if not image.save(str(path), "PNG"):
            raise OSError(f"Could not write {path}; choose a folder you can write to.")
        paths.append(path)
    return paths


def export_gif(path: str | Path, frames: list[tuple[int, QImage]], delay_ms: int = 250) -> Path:
    write_gif(path, [image_to_rgb(image) for _, image in frames], delay_ms=delay_ms)
    return Path(path)
