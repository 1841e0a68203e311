"""The prompt's token chips: after keystrokes (only the changed chips made and placed again) the strip
is the one a fresh strip builds from the same tokens, chip for chip, place for place, pixel for pixel."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect

from app.views.token_strip import CUT_MARK, TokenStrip

WORDS = "the quick brown fox jumps over the lazy dog and then it naps in the warm sun".split()


def _tokens(words: list[str]) -> tuple[list[str], list[int], list[bytes]]:
    return words, [sum(map(ord, word)) for word in words], [word.encode() for word in words]


def _strip(qtbot, width: int = 360) -> TokenStrip:
    strip = TokenStrip()
    qtbot.addWidget(strip)
    strip.resize(width, 200)
    strip.show()
    qtbot.waitExposed(strip)
    return strip


def _state(strip: TokenStrip) -> tuple:
    return strip.chips(), [rect.getRect() for rect in strip.chip_rects()], strip.minimumHeight()


def _picture(strip: TokenStrip, area: QRect | None = None):
    strip.resize(strip.width(), strip.minimumHeight())
    return strip.grab(area or strip.rect()).toImage()


# (words read, words cut off in front): appends, deletes, an edit in the middle, a paste, the
# context overflowing (cut chips and the scissors mark), and back.
EDITS = [
    (WORDS[:3], []),
    (WORDS[:4], []),
    (WORDS[:5], []),
    (WORDS[:4], []),
    (WORDS[:12], []),
    (WORDS[:2] + ["cat"] + WORDS[3:12], []),
    (WORDS[2:14], WORDS[:2]),
    (WORDS[2:15], WORDS[:2]),
    (WORDS[3:16], WORDS[:3]),
    (WORDS[:6], []),
    (["a"], []),
]


def test_chips_set_keystroke_by_keystroke_equal_chips_set_at_once(qtbot):
    typed = _strip(qtbot)
    for read, cut in EDITS:
        typed.set_tokens(*_tokens(read), cut_labels=cut)
        fresh = _strip(qtbot)
        fresh.set_tokens(*_tokens(read), cut_labels=cut)
        assert _state(typed) == _state(fresh), (read, cut)
        assert (CUT_MARK in [chip.label for chip in typed.chips()]) == bool(cut)
        assert _picture(typed) == _picture(fresh)


def test_a_new_width_or_zoom_places_every_chip_again(qtbot):
    typed = _strip(qtbot)
    typed.set_tokens(*_tokens(WORDS))
    typed.resize(220, 200)
    typed.set_zoom(1.6)
    typed.set_tokens(*_tokens(WORDS + ["again"]))
    fresh = _strip(qtbot, 220)
    fresh.set_zoom(1.6)
    fresh.set_tokens(*_tokens(WORDS + ["again"]))
    assert _state(typed) == _state(fresh)
    assert len({rect.y() for rect in typed.chip_rects()}) > 3  # wrapped onto several rows


@pytest.mark.parametrize("area", [QRect(0, 0, 360, 30), QRect(0, 25, 360, 40), QRect(0, 60, 360, 200)])
def test_a_partial_repaint_draws_the_chips_in_its_area(qtbot, area):
    """paintEvent finds the chips of the repainted rows by bisection: they look as in a full repaint."""
    strip = _strip(qtbot)
    strip.set_tokens(*_tokens(WORDS))
    whole = _picture(strip)
    area = area.intersected(strip.rect())
    part = strip.grab(area).toImage()
    assert part == whole.copy(area)
