"""Save a session, change everything, open the session: the same model, prompt, selection and step."""

import math

import numpy as np
import pytest
import torch

from core.training.run_setup import RunSetup
from lesson_fixtures import PROMPT, classroom, shown  # noqa: F401  (fixtures)


def test_a_saved_session_reopens_to_the_same_state(qtbot, tmp_path, window, shown, session_factory, show_prompt):
    window.selection.select(1, 1)
    window.output_view.set_temperature(0.6)
    shown.pane.go_to_ids("02-forward-pass", "10-scores-and-scaling")
    saved_weights = {k: v.clone() for k, v in window.controller.session.model.state_dict().items()}
    saved_logits, saved_sentences = window.snapshot.trace["logits"], shown.pane.sentences()
    path = shown.save_class_file(tmp_path / "demo")
    assert path.name == "demo.attnlab"

    # Change everything the session holds.
    window.set_session(session_factory(seed=7, n_layers=1, n_heads=1))
    show_prompt("something else")
    window.output_view.set_temperature(1.5)
    shown.pane.go_to(0, 0)

    with qtbot.waitSignal(
        window.drawn,
        timeout=10000,
        check_params_cb=lambda snapshot: snapshot.n_tokens > 1 and not window.controller.busy,
    ):
        shown.open_class_file(path)
    assert window.controller.prompt == PROMPT
    assert shown.pane.position_ids() == ("02-forward-pass", "10-scores-and-scaling")
    assert (window.selection.layer, window.selection.head) == (1, 1)
    assert window.output_view.temperature == pytest.approx(0.6)
    for name, tensor in window.controller.session.model.state_dict().items():
        assert torch.equal(tensor, saved_weights[name]), name
    assert torch.equal(window.snapshot.trace["logits"], saved_logits)
    assert shown.pane.sentences() == saved_sentences  # same trace, same step, same numbers


def test_a_broken_session_file_leaves_the_window_as_it_was(tmp_path, window, shown):
    broken = tmp_path / "broken.attnlab"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    model = window.controller.session.model
    assert not shown.try_open_class_file(broken)
    assert window.controller.session.model is model
    assert "Could not open the session" in window.statusBar().currentMessage()


# A real studio run, small enough that its 3 steps take about a second (evaluated at its last step).
STUDIO_RUN = RunSetup(
    corpus_kind="synthetic",
    corpus_name="previous-token",
    model_preset="nano",
    context_length=16,
    batch_size=8,
    max_steps=3,
    warmup_steps=1,
    eval_interval=3,
)
WAIT_MS = 20_000


def train_three_steps(qtbot, window, tmp_path, monkeypatch):
    """Set up STUDIO_RUN in the window's studio, train 3 steps, and wait until the explorer shows step 3."""
    studio = window.ensure_studio()
    monkeypatch.setattr(studio, "autosave_folder", tmp_path / "autosave")
    with qtbot.waitSignal(studio.run_ready, timeout=WAIT_MS):
        studio.set_up(STUDIO_RUN)
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS, check_params_cb=lambda step: step == 3):
        studio.train_steps(3)
    with qtbot.waitSignal(studio.shown_step_changed, timeout=WAIT_MS, check_params_cb=lambda step: step == 3):
        studio.timeline_bar.go_live()  # the explorer shows the weights after the last step
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=WAIT_MS)
    assert studio.run.trainer.step_count == 3
    assert studio.timeline.steps() == [0, 1, 2, 3]
    return studio


def kept_weights(studio) -> dict:
    """step -> {parameter name: a copy of its array}, from the studio's timeline."""
    return {
        step: {name: np.array(array) for name, array in studio.timeline.get(step).tensors.items()}
        for step in studio.timeline.steps()
    }


def test_the_training_timeline_travels_in_the_session(qtbot, tmp_path, window, shown, monkeypatch):
    from core.files.class_file import load_class_file

    studio = train_three_steps(qtbot, window, tmp_path, monkeypatch)
    losses = studio.run.trainer.loss_history
    (_, first), (_, last) = losses["train"][0], losses["train"][-1]
    ((_, val),) = losses["val"]  # measured once, at the last step

    shown.pane.go_to_ids("03-training", "03-train-and-validation")
    assert shown.pane.sentences() == [
        f"After 3 steps the training loss is {last:.2f} (perplexity {math.exp(last):.1f}), down from {first:.2f}.",
        f"The validation loss, on text held out from training, is {val:.2f} (perplexity {math.exp(val):.1f}): "
        f"{val - last:.2f} above the training loss.",
    ]
    kept = kept_weights(studio)
    reopened = load_class_file(shown.save_class_file(tmp_path / "trained"))
    assert [step for step, _ in reopened.timeline] == [0, 1, 2, 3]
    for step, tensors in reopened.timeline:
        assert set(tensors) == set(kept[step])
        for name, tensor in tensors.items():
            assert np.array_equal(tensor.numpy(), kept[step][name]), (step, name)
    assert reopened.losses == {"train": losses["train"], "val": losses["val"]}
    assert reopened.step == 3


def test_opening_a_session_brings_its_timeline_back_into_the_studio(qtbot, tmp_path, window, shown, monkeypatch):
    studio = train_three_steps(qtbot, window, tmp_path, monkeypatch)
    losses = studio.training_losses()
    kept = kept_weights(studio)
    path = shown.save_class_file(tmp_path / "trained")

    with qtbot.waitSignal(studio.run_ready, timeout=WAIT_MS):
        studio.reset()  # a fresh run at step 0: nothing of the saved one is left in the studio
    qtbot.waitUntil(lambda: studio.timeline.steps() == [0], timeout=WAIT_MS)  # the worker keeps step 0 as it starts
    assert studio.training_losses() == {"train": [], "val": []}

    with qtbot.waitSignal(window.drawn, timeout=WAIT_MS, check_params_cb=lambda snapshot: not window.controller.busy):
        shown.open_class_file(path)
    session_model = window.controller.session
    assert studio.run is None  # a session holds no optimizer state: the history is for looking back
    assert studio.timeline.steps() == [0, 1, 2, 3]
    assert studio.training_losses() == losses
    assert studio.plots.train_curve.steps == [1, 2, 3]

    studio.timeline_bar.scrub_to(1)  # look back: the explorer shows the weights of step 1
    assert studio.shown_step == 1
    for name, tensor in window.controller.session.model.state_dict().items():
        assert np.array_equal(tensor.numpy(), kept[1][name]), name
    studio.timeline_bar.go_live()  # the right end is the session's own model, the weights after step 3
    assert window.controller.session is session_model
    for name, tensor in session_model.model.state_dict().items():
        assert np.array_equal(tensor.numpy(), kept[3][name]), name


def test_a_timeline_that_does_not_fit_the_model_keeps_only_the_curves(qtbot, window, shown):
    studio = window.ensure_studio()
    losses = {"train": [[1, 3.5], [2, 3.0]], "val": []}
    wrong = [(0, {"transformer.wte.weight": np.zeros((2, 3), np.float32)})]  # not this model's parameters
    studio.restore_training_history(wrong, losses)
    assert len(studio.timeline) == 0
    assert studio.training_losses() == losses
    assert "does not fit its model" in studio.message.text()
    studio.timeline_bar.scrub_to(0)  # nothing to show, nothing raised
