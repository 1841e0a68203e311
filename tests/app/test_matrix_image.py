"""A heatmap's image: the same pixels as pyqtgraph's own, and, when a matrix only grew or shrank at its
end, the kept cells' pixels reused and only the new ones coloured, with the same result as colouring all."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage

from app.views.matrix_image import MatrixImage
from app.views.plot_style import PROBABILITY_MAP, SIGNED_MAP, colormap


def _pixels(item: pg.ImageItem) -> np.ndarray:
    """What the item draws, as (rows, cols, 4) RGBA bytes, whatever its image format."""
    item.render()
    image = item.qimage.convertToFormat(QImage.Format_RGBA8888)
    rows, cols = image.height(), image.width()
    return np.frombuffer(image.constBits(), dtype=np.uint8).reshape(rows, image.bytesPerLine())[:, : 4 * cols].copy()


def _item(values: np.ndarray, levels, map_name: str, item: pg.ImageItem | None = None) -> pg.ImageItem:
    if item is None:
        item = MatrixImage(axisOrder="row-major")
        item.setColorMap(colormap(map_name))
    item.setImage(values, levels=levels, autoLevels=False)
    return item


def _causal(values: np.ndarray) -> np.ndarray:
    """A pattern-like matrix: NaN above the diagonal (the masked future)."""
    shown = values.astype(np.float32)
    shown[np.triu(np.ones(shown.shape, dtype=bool), k=1)] = np.nan
    return shown


@pytest.mark.parametrize("masked", [False, True])
def test_the_pixels_are_pyqtgraphs_own(qtbot, masked):
    values = np.random.default_rng(0).normal(size=(9, 7)).astype(np.float32)
    if masked:
        values[2, 3] = np.nan
    ours = _item(values, (-2.0, 2.0), SIGNED_MAP)
    theirs = pg.ImageItem(axisOrder="row-major")
    theirs.setColorMap(colormap(SIGNED_MAP))
    theirs.setImage(values, levels=(-2.0, 2.0), autoLevels=False)
    np.testing.assert_array_equal(_pixels(ours), _pixels(theirs))


# Prompt lengths typed one after another: appends, deletes, a paste, a cut back to the start.
LENGTHS = (20, 21, 20, 21, 22, 25, 24, 24, 10, 11, 30, 31)


@pytest.mark.parametrize("masked", [False, True])
def test_a_growing_matrix_coloured_in_strips_equals_one_coloured_whole(qtbot, monkeypatch, masked):
    rng = np.random.default_rng(1)
    full = rng.normal(size=(32, 32)).astype(np.float32)
    growing = None
    coloured_cells = []
    colour = MatrixImage._colour

    def counted(values, *args):
        coloured_cells.append(values.size)
        return colour(values, *args)

    monkeypatch.setattr(MatrixImage, "_colour", staticmethod(counted))
    for T in LENGTHS:
        values = _causal(full[:T, :T]) if masked else full[:T, :T].copy()
        coloured_cells.clear()
        growing = _item(values, (-3.0, 3.0), SIGNED_MAP, growing)
        shown = _pixels(growing)
        grown_cells = sum(coloured_cells)
        whole = _item(values, (-3.0, 3.0), SIGNED_MAP)
        whole.incremental = False
        np.testing.assert_array_equal(shown, _pixels(whole), err_msg=f"{T} tokens")
        if T == 21:  # one token more than the last render: one new row and one new column coloured
            assert grown_cells == 2 * T - 1


def test_a_changed_cell_a_new_scale_or_a_new_mask_colours_everything_again(qtbot):
    rng = np.random.default_rng(2)
    values = rng.normal(size=(12, 12)).astype(np.float32)
    item = _item(values, (-3.0, 3.0), SIGNED_MAP)
    _pixels(item)
    changes = {
        "a kept cell changed": (np.where(np.eye(12, dtype=bool), 2.5, values).astype(np.float32), (-3.0, 3.0)),
        "new levels": (values, (-1.0, 1.0)),
        "masked now": (_causal(values), (-1.0, 1.0)),
        "grown and one old cell changed": (np.pad(values, ((0, 1), (0, 1))) + np.float32(0.5), (-1.0, 1.0)),
    }
    for what, (changed, levels) in changes.items():
        item = _item(changed, levels, SIGNED_MAP, item)
        whole = _item(changed, levels, SIGNED_MAP)
        np.testing.assert_array_equal(_pixels(item), _pixels(whole), err_msg=what)


def test_a_matrix_changed_in_place_and_updated_is_coloured_anew(qtbot):
    """The kept pixels are compared with a copy of what they were coloured from, not with the array the
    caller handed over (which it may change and hand over again)."""
    values = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    item = _item(values, (0.0, 1.0), PROBABILITY_MAP)
    before = _pixels(item)
    values[:] = values[::-1]
    item.updateImage()
    after = _pixels(item)
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, _pixels(_item(values.copy(), (0.0, 1.0), PROBABILITY_MAP)))
