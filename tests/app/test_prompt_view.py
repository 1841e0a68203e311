"""Prompt and tokens: typing re-runs the model; chips show exactly the tokens it read."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from app.views.token_strip import CUT_MARK, tooltip_for


def test_typing_shows_one_chip_per_token(qtbot, window, wait_drawn, session):
    editor = window.findChild(QPlainTextEdit, "promptEdit")
    snapshot = wait_drawn(lambda: qtbot.keyClicks(editor, "the cat"))
    strip = window.findChild(QWidget, "tokenStrip")
    chips = strip.chips()
    assert [c.token_id for c in chips] == session.tokenizer.encode("the cat")
    assert [c.label for c in chips] == ["t", "h", "e", "␣", "c", "a", "t"]
    assert snapshot.trace.ids[0].tolist() == session.tokenizer.encode("the cat")
    assert window.findChild(QWidget, "tokenSummary").text().startswith("7 tokens")


def test_hovering_a_chip_tells_id_text_and_bytes(window, show_prompt):
    show_prompt("a cat")
    space = window.prompt_view.strip.chips()[1]
    text = tooltip_for(space)
    assert f"id {space.token_id}" in text and "text: ' '" in text and "bytes: 20" in text


def test_a_too_long_prompt_is_cut_visibly(window, show_prompt):
    text = "abcdefghijklmnopqrstuvwxyz"  # the test model's context holds 16 tokens
    snapshot = show_prompt(text)
    chips = window.prompt_view.strip.chips()
    cut = [c for c in chips if c.cut]
    assert "".join(c.label for c in cut) == text[:10]
    assert chips[10].label == CUT_MARK  # the scissors sit where reading starts
    assert "".join(c.label for c in chips[11:]) == text[10:]
    assert snapshot.truncated == 10
    summary = window.prompt_view.summary.text()
    assert "26 tokens" in summary and "at most 16" in summary
    assert "cut" in window.statusBar().currentMessage()


def test_an_empty_prompt_keeps_the_last_picture_and_says_why(qtbot, window, show_prompt):
    before = show_prompt("cat")
    window.prompt_view.set_text("")
    assert window.prompt_view.strip.chips() == []
    assert "empty" in window.statusBar().currentMessage()
    assert window.snapshot is before and not window.controller.busy
    after = show_prompt("dog")  # and the window keeps working
    assert after.token_labels == ("d", "o", "g")


def test_unknown_characters_are_reported_in_the_status_bar(window, show_prompt):
    snapshot = show_prompt("cat€")
    assert snapshot.token_labels == ("c", "a", "t")
    assert "'€'" in window.statusBar().currentMessage()


def test_typing_moves_nothing_but_the_prompt(qtbot, window, wait_drawn):
    editor = window.prompt_view.editor
    wait_drawn(lambda: qtbot.keyClicks(editor, "ab"))
    wait_drawn(lambda: qtbot.keyClick(editor, Qt.Key.Key_Backspace))
    assert window.controller.prompt == "a"
    assert [c.label for c in window.prompt_view.strip.chips()] == ["a"]
