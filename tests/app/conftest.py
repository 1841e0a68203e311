"""Shared fixtures for the explorer's Qt tests: a tiny model, a window, and waiting for its drawings.

Settings go to a temporary .ini file (never the user's); every window is closed, so its worker ends.
"""

from __future__ import annotations

import pytest
import torch

from app.state.comparison import Comparison
from app.state.model_in_use import ModelInUse
from core import GPT, GPTConfig, Intervention
from core.tokenizers import CharTokenizer

VOCABULARY = "abcdefghijklmnopqrstuvwxyz .,!?TAC\n"


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    path = tmp_path / "settings.ini"
    monkeypatch.setenv("ATTENTION_LAB_SETTINGS", str(path))
    return path


def make_session(
    context_length: int = 16, pos_encoding: str = "learned", seed: int = 0, n_layers: int = 2, n_heads: int = 2
) -> ModelInUse:
    """A small random model with a character tokenizer: fast, and every number checkable."""
    tokenizer = CharTokenizer(VOCABULARY)
    config = GPTConfig(
        vocab_size=tokenizer.vocab_size,
        context_length=context_length,
        d_model=16,
        n_layers=n_layers,
        n_heads=n_heads,
        pos_encoding=pos_encoding,
    )
    torch.manual_seed(seed)
    return ModelInUse(GPT(config).eval(), tokenizer, "test model", trained=False)


@pytest.fixture
def session() -> ModelInUse:
    return make_session()


@pytest.fixture
def session_factory():
    """make_session(context_length=16, pos_encoding="learned", seed=0, n_layers=2, n_heads=2)."""
    return make_session


@pytest.fixture(scope="module")
def shared_window(qapp, tmp_path_factory):
    """One explorer window per test module (building the panels takes seconds on this machine)."""
    from PySide6.QtCore import QSize

    from app.settings import AppSettings
    from app.window import MainWindow

    settings = AppSettings(tmp_path_factory.mktemp("settings") / "settings.ini")
    # Sized as on a large screen, every panel in sight (the offscreen screen is only 800x800).
    window = MainWindow(settings=settings, session=make_session(), prompt="", size=QSize(1600, 1000))
    window.show()
    yield window
    window.close()


@pytest.fixture
def window(qtbot, shared_window, session):
    """The module's window put back to a known state: a fresh test model, empty prompt, no what-if,
    default sampling settings."""
    window = shared_window
    window.output_view.stop_generating()
    window.prompt_view.set_text("")
    window.controller.set_prompt("")
    window.whatif_view.set_intervention(Intervention())
    window.controller.set_intervention(Intervention())
    window.controller.set_comparison(Comparison())  # no second prompt, the switch on Clean
    window.set_session(session)
    output = window.output_view
    output.set_temperature(1.0)
    output.top_k_spin.setValue(0)
    output.top_p_slider.setValue(100)
    output.greedy_check.setChecked(False)
    for panel in window.panels:
        panel.dock.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def wait_drawn(qtbot, window):
    """wait_drawn(action): do action() and wait until the snapshot it causes is drawn; returns it."""

    def run(action, timeout: int = 10000):
        with qtbot.waitSignal(window.drawn, timeout=timeout, check_params_cb=lambda _: not window.controller.busy):
            action()
        return window.snapshot

    return run


@pytest.fixture
def show_prompt(wait_drawn, window):
    """show_prompt(text): set the prompt and wait until every visible panel shows it; returns the snapshot."""
    return lambda text: wait_drawn(lambda: window.prompt_view.set_text(text))
