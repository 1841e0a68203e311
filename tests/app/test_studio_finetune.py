"""The studio fine-tunes the model on screen: a copy is trained on the user's text, the original stays.

Every wait is on a signal (qtbot.waitSignal / waitUntil), never a sleep.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from app.controller import Controller
from app.state.model_in_use import ModelInUse
from app.studio import StudioPanel
from core.training.run_setup import RunSetup
from core.training import finetune
from core.files.checkpoint import load_checkpoint
from core.files.pretrained import load_pretrained

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))
from pretrained_helpers import mixed_strings, save_family  # noqa: E402

WAIT_MS = 30_000
REPEATED = "the cat sat on the mat. attention is all you need. " * 60
STEPS = 12


@pytest.fixture
def on_screen(qapp, tmp_path):
    """A controller showing a tiny Llama-shaped model loaded from a transformers-made folder, and a studio."""
    save_family("llama", tmp_path / "llama")
    model, tokenizer = load_pretrained(tmp_path / "llama")
    controller = Controller(ModelInUse(model, tokenizer, "tiny Llama", path=str(tmp_path / "llama")))
    studio = StudioPanel(controller, autosave_folder=tmp_path / "autosave")
    studio.resize(1200, 700)
    studio.show()
    yield controller, studio
    studio.shutdown()
    controller.shutdown()
    studio.close()


def finetune_setup(tmp_path) -> RunSetup:
    text_file = tmp_path / "mine.txt"
    text_file.write_text(REPEATED, encoding="utf-8")
    return RunSetup(
        corpus_kind="file",
        corpus_name=str(text_file),
        start_from="screen",
        context_length=16,
        batch_size=4,
        max_steps=STEPS,
        learning_rate=3e-3,
        warmup_steps=2,
        eval_interval=0,
        sample_interval=0,
        val_fraction=0.0,
    )


def logits_of(model, ids):
    with torch.no_grad():
        logits, _ = model.eval()(torch.tensor([ids]))
    return logits


def test_the_set_up_form_offers_the_model_on_screen(qtbot, on_screen, tmp_path):
    _, studio = on_screen
    panel = studio.setup_panel
    panel.start_combo.setCurrentIndex(panel.start_combo.findData("screen"))
    panel.start_combo.activated.emit(panel.start_combo.currentIndex())  # as a user's pick does
    setup = panel.setup()
    assert setup.start_from == "screen" and setup.learning_rate == pytest.approx(finetune.FINETUNE_LEARNING_RATE)
    assert not panel.tokenizer_combo.isEnabled() and not panel.model_sizes.preset_combo.isEnabled()
    assert "copy of the model on screen" in panel.size_label.text() and panel.apply_button.isEnabled()
    panel.start_combo.setCurrentIndex(panel.start_combo.findData("new"))
    assert panel.tokenizer_combo.isEnabled() and panel.model_sizes.preset_combo.isEnabled()


def test_a_copy_is_fine_tuned_on_the_users_text_and_the_explorers_model_stays(qtbot, on_screen, tmp_path):
    controller, studio = on_screen
    original = controller.session
    weights_before = {name: tensor.clone() for name, tensor in original.model.state_dict().items()}
    with qtbot.waitSignal(studio.run_ready, timeout=WAIT_MS):
        studio.set_up(finetune_setup(tmp_path))
    trainer = studio.worker.trainer
    assert trainer.model is not original.model and studio.run.tokenizer is original.tokenizer
    assert trainer.model.config == original.config  # the architecture as it is
    assert controller.session is original  # nothing shown changes before training does
    assert "fine-tune a copy of tiny Llama" in studio.message.text()

    with qtbot.waitSignal(
        studio.shown_step_changed, timeout=WAIT_MS, check_params_cb=lambda step: step == STEPS
    ):  # the explorer ends on the trained weights
        studio.train_steps(STEPS)
    losses = [loss for _, loss in trainer.loss_history["train"]]
    assert len(losses) == STEPS and np.mean(losses[-3:]) < np.mean(losses[:3])
    for name, tensor in original.model.state_dict().items():
        assert torch.equal(tensor, weights_before[name]), name
    shown = controller.session
    assert shown is not original and shown.step == STEPS and "tiny Llama, fine-tuned on file mine.txt" in shown.source

    with qtbot.waitSignal(studio.saved, timeout=WAIT_MS):
        studio.save_run(tmp_path / "saved")
    reopened = load_checkpoint(tmp_path / "saved")
    for text in mixed_strings(30):
        assert reopened.tokenizer.encode(text) == original.tokenizer.encode(text)
    ids = original.tokenizer.encode("the cat sat on the mat.")
    torch.testing.assert_close(logits_of(reopened.model, ids), logits_of(trainer.model, ids), rtol=0, atol=1e-6)


def test_training_that_does_not_fit_memory_is_refused_and_nothing_changes(qtbot, on_screen, tmp_path, monkeypatch):
    controller, studio = on_screen
    original = controller.session
    monkeypatch.setattr(finetune, "available_memory_bytes", lambda: 4 * original.model.num_params())
    with qtbot.waitSignal(studio.setup_failed, timeout=WAIT_MS) as failed:
        studio.set_up(finetune_setup(tmp_path))
    assert "Fine-tuning tiny Llama needs about" in failed.args[0] and "Could not set up" in studio.message.text()
    assert studio.run is None and controller.session is original


def test_measure_speed_times_a_copy_of_the_model_on_screen(qtbot, on_screen, tmp_path):
    controller, studio = on_screen
    studio.measure_speed(finetune_setup(tmp_path))
    qtbot.waitUntil(lambda: "steps/s on this machine" in studio.setup_panel.speed_label.text(), timeout=WAIT_MS)
    assert controller.session.model.training is False  # the original was only copied
