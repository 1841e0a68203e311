"""The explorer window's menu bar: File, Edit, Model, View and Help, and the small dialogs they open.

    menus = build_menus(window)      # {"File": QMenu, ...}; the lessons add their own menu later

Every action is also added to the window itself, so its shortcut works while the menu bar is hidden
(presenter mode). What an action does lives where the thing it changes lives: model opening in
app/model_opening.py, sampling in the Next token panel, layout and theme in the window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox

from .views.modified_badge import RESET_SHORTCUT


def add_action(
    window: QMainWindow, menu: QMenu, text: str, slot, shortcut=None, tip: str | None = None, checkable: bool = False
) -> QAction:
    action = QAction(text, window, checkable=checkable)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    (action.toggled if checkable else action.triggered).connect(slot if checkable else lambda *_: slot())
    menu.addAction(action)
    window.addAction(action)  # shortcuts work even while the menu bar is hidden
    return action


def build_menus(window) -> dict[str, QMenu]:
    """Fill `window`'s menu bar (the explorer's MainWindow). Returns the menus by name."""
    bar, menus = window.menuBar(), {}
    models, output = window.models, window.output_view

    def act(menu, *args, **kwargs) -> QAction:
        return add_action(window, menu, *args, **kwargs)

    file_menu = menus["File"] = bar.addMenu("&File")
    window.recent_menu = file_menu.addMenu("Open &recent")
    window.recent_menu.setObjectName("recentMenu")
    window.recent_menu.aboutToShow.connect(lambda: models.fill_recent_menu(window.recent_menu))
    file_menu.addSeparator()
    act(
        file_menu,
        "Save window picture…",
        lambda: ask_save_picture(window),
        "Ctrl+Shift+P",
        "Save a PNG picture of the whole window.",
    )
    file_menu.addSeparator()
    act(file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit, "Close Attention Lab.")

    edit_menu = menus["Edit"] = bar.addMenu("&Edit")
    act(
        edit_menu,
        "&Undo",
        window.undo_prompt,
        QKeySequence.StandardKey.Undo,
        "Undo the last change to the prompt (typing, Next token, or a whole Generate).",
    )
    act(edit_menu, "&Redo", window.redo_prompt, "Ctrl+Shift+Z", "Redo what Undo took back.")

    model_menu = menus["Model"] = bar.addMenu("&Model")
    act(
        model_menu,
        "&New untrained model…",
        models.ask_new_model,
        "Ctrl+N",
        "Make a model with random weights: pick its size and positional encoding.",
    )
    act(
        model_menu,
        "&Open checkpoint…",
        models.ask_open_checkpoint,
        "Ctrl+O",
        "Open a model saved by Attention Lab (a checkpoint folder).",
    )
    act(
        model_menu,
        "&Save checkpoint…",
        models.ask_save_checkpoint,
        "Ctrl+S",
        "Save the current model and tokenizer to a folder.",
    )
    act(
        model_menu,
        "Open &Hugging Face folder…",
        models.ask_open_hub_folder,
        "Ctrl+Shift+O",
        "Open a model saved in Hugging Face's layout (GPT-2, GPT-Neo, Pythia, Llama, Qwen2) from a local folder.",
    )
    act(
        model_menu,
        "Model &zoo…",
        models.show_model_zoo,
        "Ctrl+Shift+M",
        "Real language models from the Hugging Face Hub: see which are on this computer, download, open.",
    )
    act(
        model_menu,
        "Reload &default model",
        models.load_default_model,
        None,
        "Go back to the pretrained model the app ships with: simple stories, word by word.",
    )
    act(
        model_menu,
        "Open &character model (Python docs)",
        models.open_character_model,
        None,
        "Open the second built-in model: one token per character, trained on Python's help pages.",
    )
    act(
        model_menu,
        "Open story model with &learned positions",
        models.open_learned_positions_model,
        None,
        "Open the default model's twin whose positions are learned vectors added to the tokens (GPT-2's way).",
    )
    act(
        model_menu,
        "&About this model…",
        lambda: show_model_card(window),
        None,
        "The architecture's choices and its parameters by part.",
    )
    model_menu.addSeparator()
    act(
        model_menu, "Sample &next token", output.sample_one, "Ctrl+Return", "Sample one token and add it to the prompt."
    )
    act(model_menu, "&Generate", output.generate, "Ctrl+G", "Add tokens one at a time.")
    act(model_menu, "S&top generating", output.stop_generating, "Ctrl+.", "Stop adding tokens.")
    model_menu.addSeparator()
    act(
        model_menu,
        "&Reset everything",
        window.reset_everything,
        RESET_SHORTCUT,
        "Switch every what-if off: all heads and the positional encoding back on.",
    )

    view_menu = menus["View"] = bar.addMenu("&View")
    for panel in window.panels:
        view_menu.addAction(panel.dock.toggleViewAction())
    window.view_separator = view_menu.addSeparator()  # panels added later go above it
    window.dark_action = act(
        view_menu,
        "&Dark theme",
        window.set_dark_theme,
        "Ctrl+Shift+D",
        "Switch between light and dark colours.",
        checkable=True,
    )
    act(view_menu, "&Reset layout", window.reset_layout, None, "Put every panel back where it started.")
    view_menu.addSeparator()
    act(view_menu, "Zoom &in", lambda: window.step_zoom(1), "Ctrl+=", "Larger plot text and prompt.")
    act(view_menu, "Zoom &out", lambda: window.step_zoom(-1), "Ctrl+-", "Smaller plot text and prompt.")
    act(view_menu, "&Actual size", lambda: window.set_zoom(1.0), "Ctrl+0", "Plot text and prompt at 100%.")
    view_menu.addSeparator()
    act(view_menu, "Focus the &prompt", window.focus_prompt, "Ctrl+L", "Put the cursor in the prompt.")
    selection = window.selection
    act(view_menu, "Previous layer", lambda: selection.select(selection.layer - 1, selection.head), "Alt+Up", None)
    act(view_menu, "Next layer", lambda: selection.select(selection.layer + 1, selection.head), "Alt+Down", None)
    act(view_menu, "Previous head", lambda: selection.select(selection.layer, selection.head - 1), "Alt+Left", None)
    act(view_menu, "Next head", lambda: selection.select(selection.layer, selection.head + 1), "Alt+Right", None)

    help_menu = menus["Help"] = bar.addMenu("&Help")
    act(help_menu, "&Keyboard shortcuts", lambda: show_shortcuts(window), "F1", "List every keyboard shortcut.")
    act(help_menu, "&About Attention Lab", lambda: show_about(window), None, None)
    return menus


# -- what the Help and File menus open -----------------------------------------------------------
def ask_save_picture(window) -> None:
    path, _ = QFileDialog.getSaveFileName(
        window, "Save a picture of the window", "attention-lab.png", "PNG image (*.png)"
    )
    if path and not window.save_picture(path):
        window.errors.show_error("Could not save the picture", f"{path} could not be written.")


def show_shortcuts(window: QMainWindow) -> None:
    lines = [
        f"<tr><td><b>{a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)}</b></td>"
        f"<td>{a.text().replace('&', '')}</td></tr>"
        for a in window.actions()
        if not a.shortcut().isEmpty()
    ]
    box = QMessageBox(
        QMessageBox.Icon.Information,
        "Keyboard shortcuts",
        "<table>" + "".join(lines) + "</table>",
        QMessageBox.StandardButton.Ok,
        window,
    )
    box.setObjectName("shortcutsBox")
    box.open()


def show_model_card(window) -> None:
    from core.model.model_card import model_card

    from .dialogs.model_card import ModelCardDialog

    model = window.controller.session
    dialog = ModelCardDialog(model_card(model.config, model.source), window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()


def show_about(window: QMainWindow) -> None:
    QMessageBox.about(
        window,
        "About Attention Lab",
        "Attention Lab shows every internal of a GPT-style model as it reads your prompt: "
        "tokens, embeddings, positions, queries, keys, values, attention and the next-token "
        "prediction. Every number on screen comes from the model you see.",
    )
