"""What if: ticking a head changes every number exactly as core's intervention does."""

from __future__ import annotations

import numpy as np

from core import Intervention


def test_ablating_a_head_changes_the_logits_as_core_does(window, show_prompt, wait_drawn, session):
    show_prompt("the cat sat")
    ids = session.tokenizer.encode("the cat sat")
    box = window.whatif_view.head_boxes[(0, 1)]
    snapshot = wait_drawn(lambda: box.setChecked(True))
    expected = session.model.trace(ids, intervention=Intervention(ablate_heads={(0, 1)}))
    np.testing.assert_array_equal(snapshot.trace.numpy("logits"), expected.numpy("logits"))
    np.testing.assert_array_equal(snapshot.baseline.numpy("logits"), session.model.trace(ids).numpy("logits"))
    # the output bars show the changed model
    _, shown = window.output_view.shown_distribution()
    after = expected.numpy("probs")[-1]
    np.testing.assert_allclose(shown, np.sort(after)[::-1][: len(shown)], rtol=1e-5)
    # the before/after rows are the largest changes, with the right numbers
    changed, before_p, after_p = window.whatif_view.changes()
    before = snapshot.baseline.numpy("probs")[-1]
    assert changed[0] == np.argmax(np.abs(after - before))
    np.testing.assert_allclose(before_p, before[changed])
    np.testing.assert_allclose(after_p, after[changed])
    assert "moved to other tokens" in window.whatif_view.summary.text()


def test_mean_ablation_and_positional_off(window, show_prompt, wait_drawn, session):
    show_prompt("the cat")
    ids = session.tokenizer.encode("the cat")
    view = window.whatif_view
    wait_drawn(lambda: view.head_boxes[(1, 0)].setChecked(True))
    wait_drawn(lambda: view.ablation_combo.setCurrentIndex(view.ablation_combo.findData("mean")))
    snapshot = wait_drawn(lambda: view.positional_off.setChecked(True))
    expected = session.model.trace(
        ids, intervention=Intervention(ablate_heads={(1, 0)}, ablation="mean", positional=False)
    )
    np.testing.assert_array_equal(snapshot.trace.numpy("logits"), expected.numpy("logits"))
    assert not snapshot.trace.numpy("embed.pos").any()  # positions really were switched off


def test_reset_brings_the_intact_model_back(window, show_prompt, wait_drawn):
    intact = show_prompt("the cat")
    view = window.whatif_view
    wait_drawn(lambda: view.head_boxes[(0, 0)].setChecked(True))
    snapshot = wait_drawn(view.reset_button.click)
    assert snapshot.baseline is None and window.controller.intervention.is_empty
    assert not any(box.isChecked() for box in view.head_boxes.values())
    np.testing.assert_array_equal(snapshot.trace.numpy("logits"), intact.trace.numpy("logits"))
    assert "intact" in view.summary.text()


def test_a_short_panel_shows_the_biggest_changes_each_with_room_for_its_label(qtbot):
    from dataclasses import replace

    from PySide6.QtGui import QFontMetrics
    from view_snapshots import make_snapshot

    from app.selection import Selection
    from app.views.output_view import last_position
    from app.views.plot_style import font
    from app.views.whatif_view import FEWEST_ROWS, TOP_CHANGES, WhatIfView

    intact = make_snapshot()
    snapshot = replace(make_snapshot(intervention=Intervention(ablate_heads={(0, 0), (1, 1)})), baseline=intact.trace)
    view = WhatIfView(Selection(2, 2))
    qtbot.addWidget(view)
    view.set_theme(False)
    view.resize(500, 800)
    view.show()
    qtbot.waitExposed(view)
    view.show_snapshot(snapshot)
    qtbot.waitUntil(lambda: len(view.changes()[0]) == TOP_CHANGES)
    view.resize(500, 290)  # about 60 px left for the plot
    qtbot.waitUntil(lambda: len(view.changes()[0]) < TOP_CHANGES)
    shown = view.changes()[0]
    row_height = view.plot.getPlotItem().getViewBox().height() / (len(shown) + 0.2)
    assert len(shown) >= FEWEST_ROWS and row_height >= QFontMetrics(font()).height()
    change = np.abs(last_position(snapshot.trace, "probs") - last_position(intact.trace, "probs"))
    assert set(shown) == set(np.argsort(-change, kind="stable")[: len(shown)])


def test_every_layer_of_the_heads_grid_is_in_sight(qtbot):
    from view_snapshots import make_snapshot

    from app.selection import Selection
    from app.views.whatif_view import WhatIfView

    view = WhatIfView(Selection(4, 4))
    qtbot.addWidget(view)
    view.resize(400, 300)  # squeezed: the grid keeps room for its four layers, the plot gives way
    view.show()
    qtbot.waitExposed(view)
    view.show_snapshot(make_snapshot(n_layers=4, n_heads=4))
    viewport, last = view.grid_scroll.viewport(), view.head_boxes[(3, 3)]

    def last_layer_in_sight() -> bool:  # the last row's box lies inside the scroll area's visible part
        top_left = last.mapTo(viewport, last.rect().topLeft())
        return last.isVisible() and viewport.rect().contains(last.rect().translated(top_left))

    qtbot.waitUntil(last_layer_in_sight)
    assert view.grid_scroll.verticalScrollBar().maximum() == 0  # nothing to scroll to


def test_the_change_axis_title_fits_its_plot_in_presenter_fonts_with_a_head_off(qtbot):
    from dataclasses import replace

    from view_snapshots import make_snapshot

    from app.selection import Selection
    from app.views import plot_style
    from app.views.whatif_view import WhatIfView

    intact = make_snapshot()
    snapshot = replace(make_snapshot(intervention=Intervention(ablate_heads={(0, 0)})), baseline=intact.trace)
    for font_scale in (1.0, 1.6):  # normal, and presenter mode's larger plot fonts
        plot_style.set_font_scale(font_scale)
        try:
            view = WhatIfView(Selection(2, 2))
            qtbot.addWidget(view)
            view.set_theme(False)
            view.show_snapshot(snapshot)  # wide row labels ("token  12.0% → 3.4%") beside the bars
            view.resize(view.minimumSizeHint().width(), 500)  # as narrow as the panel may get
            view.show()
            qtbot.waitExposed(view)
            plot = view.plot
            title = plot.getPlotItem().getAxis("bottom").label
            qtbot.waitUntil(lambda: plot.width() == view.plot.width() and title.isVisible())
            shown = plot.mapFromScene(title.sceneBoundingRect()).boundingRect()
            assert 0 <= shown.left() and shown.right() < plot.width(), (font_scale, shown, plot.rect())  # not cut
        finally:
            plot_style.set_font_scale(1.0)
