"""The training a model was saved with, drawn for the hand-out: its loss curves and its learning rate.

    image = history_picture(train, val, recipe)    # train, val: [[step, loss], ...]; recipe: a TrainConfig or None

What a training step of the hand-out pictures when its numbers describe the model's own training (a model
opened from a folder) rather than a run in the studio.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from app.views.plot_style import CURVE_COLOURS, colours, legend_html, style_graphics_view, style_plot_item
from core.training.schedule import learning_rate_at

SIZE = QSize(1000, 380)  # pixels: two plots side by side, as wide as a hand-out figure
SCHEDULE_POINTS = 300  # learning rates drawn along the schedule


def history_picture(train: list, val: list | None, recipe=None, size: QSize = SIZE) -> QImage:
    """Training (and validation) loss by step, and beside it the learning rate the recipe set at each step."""
    plots = pg.GraphicsLayoutWidget()
    plots.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)  # drawn for the picture only, never on screen
    style_graphics_view(plots, False)
    text = colours(False)["text"]
    entries = [("━", CURVE_COLOURS[0], "training loss")] + ([("━", CURVE_COLOURS[1], "validation loss")] if val else [])
    plots.addLabel(f"<span style='color:{text}'>{legend_html(entries)}</span>", row=0, col=0)
    loss = plots.addPlot(row=1, col=0, title="loss saved with the model")
    for rows, colour in ((train, CURVE_COLOURS[0]), (val or [], CURVE_COLOURS[1])):
        if rows:
            steps, losses = np.asarray(rows, dtype=float).T  # (2, N): step, loss
            loss.plot(steps, losses, pen=pg.mkPen(colour, width=2))
    loss.setLabel("bottom", "step")
    plotted = [loss]
    if recipe is not None:
        plots.addLabel(
            f"<span style='color:{text}'>{legend_html([('━', CURVE_COLOURS[2], 'learning rate')])}</span>", row=0, col=1
        )
        rate = plots.addPlot(row=1, col=1, title=f"learning rate: warmup, then {recipe.lr_decay} decay")
        steps = np.unique(np.linspace(0, recipe.max_steps, SCHEDULE_POINTS).astype(int))
        rate.plot(
            steps, [learning_rate_at(int(step), recipe) for step in steps], pen=pg.mkPen(CURVE_COLOURS[2], width=2)
        )
        rate.setLabel("bottom", "step")
        rate.getAxis("left").enableAutoSIPrefix(False)
        plotted.append(rate)
    for plot in plotted:
        plot.hideButtons()
        style_plot_item(plot, False)
    plots.resize(size)
    plots.show()
    QApplication.processEvents()  # lay the plots out before their picture
    image = plots.grab().toImage()
    plots.close()
    plots.deleteLater()
    return image
