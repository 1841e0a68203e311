"""The explorer window: panels fed from one trace, model menu, layout, themes, closing cleanly."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
import torch
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDockWidget, QMessageBox, QPlainTextEdit, QSpinBox, QWidget

from app.main import build_parser, main
from app.state.model_in_use import sample_prompts
from app.settings import AppSettings, RecentItem
from app.window import MainWindow

OBJECT_NAMES = (
    "promptEdit",
    "tokenStrip",
    "outputView",
    "layerSelector",
    "headSelector",
    "embeddingView",
    "positionalView",
    "qkvView",
    "attentionView",
)


def test_every_panel_can_be_found_by_its_object_name(window):
    for name in OBJECT_NAMES:
        assert window.findChild(QWidget, name) is not None, name
    for panel in window.panels:  # each dock explains itself and is listed in the View menu
        assert panel.dock.toolTip().endswith(".")
        assert panel.dock.toggleViewAction() in window.menus["View"].actions()


def test_typing_updates_the_attention_panel_with_the_models_trace(qtbot, window, wait_drawn, session):
    editor = window.findChild(QPlainTextEdit, "promptEdit")
    wait_drawn(lambda: qtbot.keyClicks(editor, "the cat sat"))
    ids = session.tokenizer.encode("the cat sat")
    trace = session.model.trace(ids)
    attention = window.findChild(QWidget, "attentionView")
    np.testing.assert_allclose(attention.shown_pattern(), trace.numpy("blocks.0.attn.pattern")[0], atol=1e-6)
    window.findChild(QSpinBox, "layerSelector").setValue(1)  # the selectors drive every panel
    window.findChild(QSpinBox, "headSelector").setValue(1)
    assert (window.selection.layer, window.selection.head) == (1, 1)
    np.testing.assert_allclose(attention.shown_pattern(), trace.numpy("blocks.1.attn.pattern")[1], atol=1e-6)
    window.selection.select(0, 1)  # ... and follow a selection made elsewhere
    assert window.layer_selector.value() == 0 and window.head_selector.value() == 1


def test_a_hidden_panel_is_not_redrawn_until_it_is_shown(qtbot, window, show_prompt):
    attention = window.findChild(QWidget, "attentionView")
    dock = window.findChild(QDockWidget, "attentionViewDock")
    first = show_prompt("ab")
    dock.close()
    show_prompt("abc")
    assert attention.snapshot is first  # closed: skipped
    dock.show()
    qtbot.waitUntil(lambda: attention.snapshot is window.snapshot, timeout=5000)
    assert attention.shown_pattern().shape == (3, 3)


def test_a_panel_behind_a_tab_is_redrawn_when_its_tab_is_chosen(qtbot, window, show_prompt):
    embedding = window.built_panel("embeddingView")  # built when first shown, or when asked for like this
    window.findChild(QDockWidget, "qkvViewDock").raise_()  # Q/K/V in front, embeddings behind it
    qtbot.waitUntil(lambda: window.findChild(QDockWidget, "embeddingViewDock").visibleRegion().isEmpty())
    snapshot = show_prompt("abcd")
    assert embedding.snapshot is not snapshot
    window.findChild(QDockWidget, "embeddingViewDock").raise_()
    qtbot.waitUntil(lambda: embedding.snapshot is snapshot, timeout=5000)


def test_opening_a_bad_checkpoint_keeps_the_model(tmp_path, window, show_prompt, session):
    show_prompt("cat")
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "meta.json").write_text("{not json", encoding="utf-8")
    assert window.models.open_checkpoint(bad) is False
    assert window.controller.session is session
    box = window.findChild(QMessageBox, "errorBox")
    assert box.isVisible() and "previous model is still shown" in box.text()
    assert window.statusBar().currentMessage().startswith("Could not open the checkpoint")
    assert window.models.open_checkpoint(tmp_path / "missing") is False
    gpt2 = tmp_path / "gpt2"  # a GPT-2 folder whose weights file is missing
    gpt2.mkdir()
    (gpt2 / "config.json").write_text(
        '{"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 8, "vocab_size": 50257, "n_positions": 16}'
    )
    assert window.models.open_gpt2_folder(gpt2) is False
    box = window.findChild(QMessageBox, "errorBox")
    assert "model.safetensors" in box.text()
    assert window.controller.session is session
    box.close()


def test_save_then_open_a_checkpoint_replaces_the_model_everywhere(
    tmp_path, window, show_prompt, wait_drawn, session_factory
):
    show_prompt("the cat")
    folder = tmp_path / "saved"
    other = session_factory(n_layers=3, n_heads=4, seed=7)
    window.set_session(other)
    assert window.models.save_checkpoint(folder)
    window.set_session(session_factory())
    snapshot = wait_drawn(lambda: window.models.open_checkpoint(folder))
    assert snapshot.config == other.config
    reopened = window.controller.session.model
    assert reopened is not other.model
    saved_weights = other.model.state_dict()
    assert set(reopened.state_dict()) == set(saved_weights)
    for name, tensor in reopened.state_dict().items():
        assert torch.equal(tensor, saved_weights[name]), name  # the very numbers that were saved
    np.testing.assert_allclose(
        snapshot.trace.numpy("logits"), other.model.trace(snapshot.trace.ids).numpy("logits"), atol=1e-6
    )
    assert window.layer_selector.maximum() == 2 and window.head_selector.maximum() == 3
    assert len(window.whatif_view.head_boxes) == 12
    assert window.settings.recent_items()[0].path == str(folder)


def test_the_model_menu_opens_the_built_in_models_and_reloads_the_story_model(window, show_prompt, wait_drawn):
    show_prompt("The cat sat on the")
    actions = {action.text(): action for action in window.menus["Model"].actions()}
    snapshot = wait_drawn(actions["Open &character model (Python docs)"].trigger)
    assert window.controller.session.tokenizer.kind == "char" and snapshot.config.pos_encoding == "rope"
    assert len(snapshot.trace.ids[0]) == len("The cat sat on the")  # one token per character
    assert window.windowTitle() == "Attention Lab — character model (Python docs)"
    snapshot = wait_drawn(actions["Open story model with &learned positions"].trigger)
    assert window.controller.session.tokenizer.kind == "bpe" and snapshot.config.pos_encoding == "learned"
    assert window.windowTitle() == "Attention Lab — story model with learned positions"
    snapshot = wait_drawn(actions["Reload &default model"].trigger)
    assert window.controller.session.tokenizer.kind == "bpe" and snapshot.config.pos_encoding == "rope"
    assert len(snapshot.trace.ids[0]) == 5  # The, cat, sat, on, the: one token per word


def test_a_new_untrained_model_replaces_the_model(window, show_prompt, wait_drawn):
    show_prompt("the cat")
    config = window.controller.session.config.with_changes(n_layers=1, n_heads=1, pos_encoding="rope")
    snapshot = wait_drawn(lambda: window.models.new_model(config, "current", seed=3))
    assert snapshot.config.n_layers == 1 and snapshot.config.pos_encoding == "rope"
    assert "UNTRAINED" in window.model_label.text()
    assert window.layer_selector.maximum() == 0


def test_a_new_model_settles_the_plots_once_not_once_for_its_selection_and_again_for_its_snapshot(
    window, show_prompt, wait_drawn, session, monkeypatch
):
    """Showing a model sets the selection's shape (the views follow) and then draws its snapshot: the plots
    are laid out and prepared for painting after the snapshot only (the studio shows a model at every update)."""
    show_prompt("the cat")
    settled = []
    monkeypatch.setattr("app.window.settle_plots", lambda panels: settled.append(list(panels)))
    wait_drawn(lambda: window.set_session(session))
    assert len(settled) == 1 and settled[0]  # the panels on screen, once
    window.selection.select(0, 1, force=True)  # a selection of its own is settled at once: no snapshot follows
    assert len(settled) == 2


def test_new_model_dialog_counts_parameters_live(qtbot):
    from app.dialogs.new_model import NewModelDialog
    from core import GPT
    from core.model.config import GPTConfig

    dialog = NewModelDialog({"current": 65, "lessons": 80})
    qtbot.addWidget(dialog)
    dialog.model_sizes.preset_combo.setCurrentIndex(dialog.model_sizes.preset_combo.findData("micro"))
    dialog.model_sizes.positional_combo.setCurrentIndex(dialog.model_sizes.positional_combo.findData("sinusoidal"))
    expected = GPT(GPTConfig(vocab_size=65, n_layers=4, n_heads=4, d_model=128, pos_encoding="sinusoidal")).num_params()
    assert f"{expected:,} parameters" in dialog.count_label.text()
    dialog.model_sizes.heads_spin.setValue(3)  # 128 is not divisible by 3
    assert "divisible" in dialog.count_label.text()
    assert dialog.model_sizes.preset_combo.currentData() == "custom"
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()


def test_theme_switch_recolours_window_and_plots(window, show_prompt):
    show_prompt("cat")
    window.set_dark_theme(True)
    dark_window = QApplication.instance().palette().color(QPalette.ColorRole.Window)
    assert dark_window.lightness() < 80
    assert pg.getConfigOption("background") == "#1e1f22"
    assert window.output_view.plot.backgroundBrush().color().lightness() < 80
    assert window.settings.dark_theme is True
    window.set_dark_theme(False)
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() > 200
    assert window.output_view.plot.backgroundBrush().color().lightness() > 200


def test_layout_preferences_and_recent_files_are_remembered(qtbot, tmp_path, session_factory):
    settings = AppSettings(tmp_path / "layout.ini")
    first = MainWindow(settings=settings, session=session_factory())
    qtbot.addWidget(first)
    first.show()
    assert first.controller.prompt == sample_prompts()[0]  # the first screen already shows something
    first.findChild(QDockWidget, "whatIfViewDock").close()
    first.output_view.set_temperature(0.7)
    first.output_view.top_k_spin.setValue(5)
    settings.add_recent(RecentItem("checkpoint", str(tmp_path / "model-a")))
    first.close()
    assert not first.controller.worker_running  # closing the window ends the worker thread

    second = MainWindow(settings=AppSettings(tmp_path / "layout.ini"), session=session_factory(), prompt="")
    qtbot.addWidget(second)
    second.show()
    assert not second.findChild(QDockWidget, "whatIfViewDock").isVisible()
    assert (second.output_view.temperature, second.output_view.top_k) == (0.7, 5)
    second.models.fill_recent_menu(second.recent_menu)
    assert any("model-a" in action.text() for action in second.recent_menu.actions())
    second.reset_layout()
    assert second.findChild(QDockWidget, "whatIfViewDock").isVisible()
    second.close()


def test_add_panel_feeds_a_new_panel_and_lists_it(qtbot, window, show_prompt):
    class CountingPanel(QWidget):
        TITLE, TOOLTIP = "Counter", "Counts snapshots."
        OBJECT_NAME, FOLLOWS_SELECTION = "counterView", False

        def __init__(self):
            super().__init__()
            self.setObjectName("counterView")
            self.seen = []

        def show_snapshot(self, snapshot):
            self.seen.append(snapshot.n_tokens)

        def set_theme(self, dark):
            pass

    panel = CountingPanel()
    dock = window.add_panel(panel, tab_with="attentionView")
    attention = window.findChild(QDockWidget, "attentionViewDock")
    qtbot.waitUntil(lambda: dock in window.tabifiedDockWidgets(attention))  # Qt updates tabs on the next loop
    assert dock.toggleViewAction() in window.menus["View"].actions()
    qtbot.waitUntil(lambda: dock.visibleRegion().isEmpty())  # behind the attention tab, which stays in front
    show_prompt("abcd")
    assert panel.seen == []
    dock.raise_()
    qtbot.waitUntil(lambda: panel.seen == [4])
    window.reset_layout()  # goes back behind the attention tab
    qtbot.waitUntil(lambda: dock in window.tabifiedDockWidgets(attention))
    window.removeDockWidget(dock)
    window.menus["View"].removeAction(dock.toggleViewAction())
    window.panels = [p for p in window.panels if p.widget is not panel]


def test_screenshot_option_saves_a_picture(tmp_path, qapp):
    shot = tmp_path / "shot.png"
    code = main(["--prompt", "the cat sat", "--screenshot", str(shot), "--settings", str(tmp_path / "s.ini")])
    assert code == 0
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1600, 1000)


def test_parser_is_open_for_more_options():
    args = build_parser().parse_args(["--prompt", "hi", "--screenshot", "x.png"])
    assert (args.prompt, args.screenshot, args.checkpoint) == ("hi", "x.png", None)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--no-such-option"])


def test_an_unexpected_error_shows_a_dialog_that_saves(qtbot, tmp_path, monkeypatch):
    import sys
    import threading

    from app.crash import install_crash_handler

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # put the hooks back after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    reporter = install_crash_handler()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible())
    qtbot.addWidget(reporter.dialog)
    worker = threading.Thread(target=lambda: 1 / 0)  # an error on another thread reaches the same dialog
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: "ZeroDivisionError" in reporter.dialog.details.toPlainText())
    reporter.dialog.save(tmp_path / "error.txt")
    saved = (tmp_path / "error.txt").read_text(encoding="utf-8")
    assert "RuntimeError: boom" in saved and "ZeroDivisionError" in saved
