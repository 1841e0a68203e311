"""The probe's attention over training, as pictures: one frame per timeline step, every head in a grid.

    frames = attention_frames(timeline, config, probe_ids)     # [(step, QImage), ...]
    export_png_sequence(folder, frames)                        # attention_step000120.png, ...
    export_gif(path, frames)                                   # one animated GIF (Pillow writes it)

Frames are painted directly from the numbers (no widget is grabbed), so the export works offscreen
and off the GUI thread, and every pixel of a head is exactly its attention weight through the viridis
colour map. Each frame's title starts with its step and is sized to fit the frame.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter

from app.views.plot_style import PROBABILITY_MAP, colormap
from core.files.safe_write import explain_write_failure, write_atomically
from core.teaching.detectors import pattern_names
from core.model.model import GPT

CELL_PIXELS = 6  # pixels per attention cell (a 48-token probe: 288-pixel heads)
MAX_HEAD_PIXELS = 240  # heads are shrunk (never below 2 px per cell) to keep frames a sensible size
MIN_FRAME_WIDTH = 260  # a one-head model still gets room for a readable title
GAP, TITLE_HEIGHT, LABEL_HEIGHT = 12, 30, 18
TITLE_PIXELS, SMALLEST_TITLE_PIXELS = 18, 9
BACKGROUND, MASKED, TEXT = QColor("#ffffff"), QColor("#e8eaed"), QColor("#202124")


def patterns_of(model: GPT, probe_ids) -> np.ndarray:
    """(n_layers, n_heads, T, T) attention of the probe for the model's current weights."""
    trace = model.trace(probe_ids, names=pattern_names(model.config.n_layers))
    return np.stack([trace.numpy(name) for name in pattern_names(model.config.n_layers)])


def _head_image(pattern: np.ndarray) -> QImage:
    """(T, T) weights -> a T×T RGB image through viridis; the masked future in light grey."""
    lookup = colormap(PROBABILITY_MAP).getLookupTable(0.0, 1.0, 256, alpha=False)  # (256, 3) uint8
    levels = np.clip(np.nan_to_num(pattern, nan=0.0), 0.0, 1.0)
    rgb = lookup[(levels * 255).round().astype(np.int64)]  # (T, T, 3)
    T = pattern.shape[0]
    rgb[np.triu(np.ones((T, T), dtype=bool), k=1)] = (MASKED.red(), MASKED.green(), MASKED.blue())
    rgb = np.ascontiguousarray(rgb.astype(np.uint8))
    return QImage(rgb.data, T, T, 3 * T, QImage.Format.Format_RGB888).copy()


def frame_title(step: int) -> str:
    """The step first: if anything has to give, it is the description, never the step."""
    return f"Step {step} · attention on the probe"


def fitted_title_font(title: str, width: int) -> QFont:
    """A bold font for `title`, shrunk until the title fits `width` pixels (down to SMALLEST_TITLE_PIXELS)."""
    title_font = QFont()
    title_font.setBold(True)
    for pixels in range(TITLE_PIXELS, SMALLEST_TITLE_PIXELS - 1, -1):
        title_font.setPixelSize(pixels)
        if QFontMetrics(title_font).horizontalAdvance(title) <= width:
            break
    return title_font


def render_frame(patterns: np.ndarray, title: str) -> QImage:
    """Every head of (L, H, T, T) patterns in a grid, under a title that fits the frame."""
    n_layers, n_heads, T, _ = patterns.shape
    head = int(min(max(2 * T, CELL_PIXELS * T), max(MAX_HEAD_PIXELS, 2 * T)))
    width = max(GAP + n_heads * (head + GAP), MIN_FRAME_WIDTH)
    height = TITLE_HEIGHT + n_layers * (LABEL_HEIGHT + head + GAP) + GAP
    image = QImage(width, height, QImage.Format.Format_RGB888)
    image.fill(BACKGROUND)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # sharp cells
    title_width = width - 2 * GAP
    title_font = fitted_title_font(title, title_width)
    label_font = QFont()
    label_font.setPixelSize(13)
    painter.setPen(TEXT)
    painter.setFont(title_font)
    shown_title = QFontMetrics(title_font).elidedText(title, Qt.TextElideMode.ElideRight, title_width)
    painter.drawText(QRect(GAP, 0, title_width, TITLE_HEIGHT), int(Qt.AlignmentFlag.AlignVCenter), shown_title)
    painter.setFont(label_font)
    for layer in range(n_layers):
        top = TITLE_HEIGHT + layer * (LABEL_HEIGHT + head + GAP)
        for index in range(n_heads):
            left = GAP + index * (head + GAP)
            painter.drawText(
                QRect(left, top, head, LABEL_HEIGHT), int(Qt.AlignmentFlag.AlignLeft), f"L{layer} H{index}"
            )
            painter.drawImage(QRect(left, top + LABEL_HEIGHT, head, head), _head_image(patterns[layer, index]))
    painter.end()
    return image


def image_to_rgb(image: QImage) -> np.ndarray:
    """(H, W, 3) uint8 copy of a QImage."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def attention_frames(
    steps_and_weights,
    config,
    probe_ids,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> list[tuple[int, QImage]] | None:
    """One frame per (step, WeightSnapshot): load the weights into a scratch model and trace the probe.
    None if `cancelled()` turned true before every frame was made."""
    model = GPT(config).eval()
    frames = []
    items = list(steps_and_weights)
    for index, (step, weights) in enumerate(items):
        if cancelled():
            return None
        model.load_state_dict(weights.state_dict())
        frames.append((step, render_frame(patterns_of(model, probe_ids), frame_title(step))))
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


def gif_bytes(frames_rgb: list[np.ndarray], delay_ms: int = 250) -> bytes:
    """An animated GIF of (H, W, 3) uint8 frames, looping forever, `delay_ms` per frame (Pillow encodes it)."""
    if not frames_rgb:
        raise ValueError("An animation needs at least one frame.")
    images = [Image.fromarray(frame, mode="RGB") for frame in frames_rgb]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=delay_ms, loop=0)
    return buffer.getvalue()


def export_gif(path: str | Path, frames: list[tuple[int, QImage]], delay_ms: int = 250) -> Path:
    """Write the frames as one GIF; the file appears whole or not at all (a failure leaves no half file)."""
    path = Path(path)
    data = gif_bytes([image_to_rgb(image) for _, image in frames], delay_ms)
    try:
        write_atomically(path, data)
    except OSError as error:
        raise OSError(explain_write_failure(error, path.parent, "the GIF")) from error
    return path
