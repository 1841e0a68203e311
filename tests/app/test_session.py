"""Save a session, change everything, open the session: the same model, prompt, selection and step."""
import pytest
import torch

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

    with qtbot.waitSignal(window.drawn, timeout=10000,
                          check_params_cb=lambda snapshot: snapshot.n_tokens > 1 and not window.controller.busy):
        shown.open_class_file(path)
    assert window.controller.prompt == PROMPT
    assert shown.pane.position_ids() == ("02-forward-pass", "10-scores-and-scaling")
    assert (window.selection.layer, window.selection.head) == (1, 1)
    assert window.output_view.temperature == pytest.approx(0.6)
    for name, tensor in window.controller.session.model.state_dict().items():
        assert torch.equal(tensor, saved_weights[name]), name
    assert torch.equal(window.snapshot.trace["logits"], saved_logits)
    assert shown.pane.sentences() == saved_sentences   # same trace, same step, same numbers


def test_a_broken_session_file_leaves_the_window_as_it_was(tmp_path, window, shown):
    broken = tmp_path / "broken.attnlab"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    model = window.controller.session.model
    assert not shown.try_open_class_file(broken)
    assert window.controller.session.model is model
    assert "Could not open the session" in window.statusBar().currentMessage()


def test_the_training_timeline_travels_in_the_session(tmp_path, window, shown, monkeypatch):
    from types import SimpleNamespace

    import numpy as np

    from app.studio.worker import SharedTimeline
    from core.files.class_file import load_class_file
    from core.teaching.timeline import Timeline
    from core.training.trainer import WeightSnapshot

    timeline = Timeline(capacity=4)
    for step in (0, 5, 10):
        timeline.add(step, WeightSnapshot(step, {"transformer.wte.weight": np.full((2, 3), step, np.float32)}))
    losses = {"train": [[1, 3.5], [10, 2.25]], "val": []}
    monkeypatch.setattr(window.ensure_studio(), "timeline", SharedTimeline(timeline))
    monkeypatch.setattr(window.ensure_studio(), "run", SimpleNamespace(trainer=SimpleNamespace(loss_history=losses)))

    shown.pane.go_to_ids("03-training", "03-train-and-validation")
    assert shown.pane.sentences() == ["After 10 steps the training loss is 2.25 (perplexity 9.5), down from 3.50."]
    reopened = load_class_file(shown.save_class_file(tmp_path / "trained"))
    assert [step for step, _ in reopened.timeline] == [0, 5, 10]
    assert np.array_equal(reopened.timeline[1][1]["transformer.wte.weight"].numpy(), np.full((2, 3), 5.0))
    assert reopened.losses == losses


def test_opening_a_session_brings_its_timeline_back_into_the_studio(qtbot, tmp_path, window, shown, monkeypatch):
    from types import SimpleNamespace

    import numpy as np

    from app.studio.worker import SharedTimeline
    from core.teaching.timeline import Timeline
    from core.training.trainer import WeightSnapshot

    model = window.controller.session.model
    weights_at = {step: {name: (tensor.numpy() + step * 0.01).astype(np.float32)
                         for name, tensor in model.state_dict().items()} for step in (0, 6, 12)}
    timeline = Timeline(capacity=4, every=6)
    for step, tensors in weights_at.items():
        timeline.add(step, WeightSnapshot(step, tensors))
    losses = {"train": [[1, 3.5], [6, 3.0], [12, 2.25]], "val": [[12, 2.5]]}
    monkeypatch.setattr(window.ensure_studio(), "timeline", SharedTimeline(timeline))
    monkeypatch.setattr(window.ensure_studio(), "run", SimpleNamespace(trainer=SimpleNamespace(loss_history=losses)))
    path = shown.save_class_file(tmp_path / "trained")
    monkeypatch.undo()   # the studio has no run again, as after a restart

    studio = window.ensure_studio()
    with qtbot.waitSignal(window.drawn, timeout=10000, check_params_cb=lambda snapshot: not window.controller.busy):
        shown.open_class_file(path)
    session_model = window.controller.session
    assert studio.timeline.steps() == [0, 6, 12]
    assert studio.training_losses() == losses
    assert studio.plots.train_curve.steps == [1, 6, 12]

    studio.timeline_bar.scrub_to(6)   # look back: the explorer shows the weights of step 6
    assert studio.shown_step == 6
    for name, tensor in window.controller.session.model.state_dict().items():
        assert np.array_equal(tensor.numpy(), weights_at[6][name]), name
    studio.timeline_bar.go_live()     # the right end is the session's own model
    assert window.controller.session is session_model


def test_a_timeline_that_does_not_fit_the_model_keeps_only_the_curves(qtbot, window, shown):
    import numpy as np

    studio = window.ensure_studio()
    losses = {"train": [[1, 3.5], [2, 3.0]], "val": []}
    wrong = [(0, {"transformer.wte.weight": np.zeros((2, 3), np.float32)})]   # not this model's parameters
    studio.restore_training_history(wrong, losses)
    assert len(studio.timeline) == 0
    assert studio.training_losses() == losses
    assert "does not fit its model" in studio.message.text()
    studio.timeline_bar.scrub_to(0)   # nothing to show, nothing raised
