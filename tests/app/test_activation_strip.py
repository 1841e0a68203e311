"""The neuron panel's prompt strip repaints only the chips whose shade changed, and draws as if shaded afresh."""

import numpy as np
from PySide6.QtCore import QRect

from app.views.neurons_view import ActivationStrip

LABELS = ["The", " cat", " sat", " on", " the", " mat"]
ACTIVATIONS = np.array([0.5, -1.2, 2.0, 0.1, -0.4, 0.8])


def strip_with(qtbot, count: int) -> ActivationStrip:
    strip = ActivationStrip()
    qtbot.addWidget(strip)
    strip.resize(420, 120)
    strip.set_activations(LABELS[:count], range(count), ACTIVATIONS[:count])
    return strip


def repainted_after(strip: ActivationStrip, monkeypatch, count: int, activations: np.ndarray) -> QRect:
    """The area strip asks to repaint when shown `count` tokens with these activations."""
    asked = []
    monkeypatch.setattr(strip, "update", lambda *area: asked.append(area[0] if area else strip.rect()))
    strip.set_activations(LABELS[:count], range(count), activations)
    monkeypatch.undo()
    united = QRect()
    for rect in asked:
        united = united.united(rect)
    return united


def pixels(strip: ActivationStrip) -> np.ndarray:
    image = strip.grab().toImage()
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine()).copy()


def test_a_new_token_within_the_range_repaints_only_its_own_chip(qtbot, monkeypatch):
    strip = strip_with(qtbot, 5)
    area = repainted_after(strip, monkeypatch, 6, ACTIVATIONS[:6])  # 0.8 < 2.0: the range stays
    first, new = strip.chip_rects()[0], strip.chip_rects()[5]
    assert area.contains(new.toAlignedRect())
    assert not area.intersects(first.toAlignedRect())
    fresh = strip_with(qtbot, 6)
    np.testing.assert_array_equal(pixels(strip), pixels(fresh))


def test_a_new_strongest_token_reshades_every_chip(qtbot, monkeypatch):
    strip = strip_with(qtbot, 5)
    stronger = np.append(ACTIVATIONS[:5], 4.0)  # the range doubles: every shade fades
    area = repainted_after(strip, monkeypatch, 6, stronger)
    for rect in strip.chip_rects():
        assert area.contains(rect.toAlignedRect())
    fresh = ActivationStrip()
    qtbot.addWidget(fresh)
    fresh.resize(420, 120)
    fresh.set_activations(LABELS, range(6), stronger)
    np.testing.assert_array_equal(pixels(strip), pixels(fresh))
