"""The training studio, driven like a user would: Step, Play, Pause, scrub, divergence, close.

Every wait is on a signal (qtbot.waitSignal / waitUntil), never a sleep.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
import pytest
import torch

from app.controller import Controller
from app.state.model_in_use import ModelInUse
from app.studio import StudioPanel
from core.teaching.detectors import DETECTORS, head_scores, pattern_names
from core.model.config import preset
from core.model.model import GPT
from core.tokenizers import CharTokenizer
from studio_runs import TINY_RUN

TINY = TINY_RUN
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def shared_studio(qapp, tmp_path_factory):
    """One studio per module (building its plots takes a second or two here); each test sets up a fresh run."""
    tokenizer = CharTokenizer("abc .\n")
    controller = Controller(ModelInUse(GPT(preset("nano", vocab_size=tokenizer.vocab_size)), tokenizer, "start"))
    panel = StudioPanel(controller, autosave_folder=tmp_path_factory.mktemp("autosave"))
    panel.resize(1200, 700)
    panel.show()
    yield panel
    panel.shutdown()
    controller.shutdown()
    panel.close()


@pytest.fixture
def studio(qtbot, shared_studio):
    """The shared studio with a fresh TINY run at step 0 (Reset: same text, new weights)."""
    with qtbot.waitSignal(shared_studio.run_ready, timeout=WAIT_MS):
        shared_studio.set_up(TINY)
    return shared_studio


def click(qtbot, studio, name: str) -> None:
    from PySide6.QtWidgets import QPushButton

    button = studio.findChild(QPushButton, name)
    assert button is not None and button.isEnabled(), name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_step_takes_exactly_one_optimizer_step_and_adds_one_loss_point(qtbot, studio):
    trainer = studio.worker.trainer
    assert trainer.step_count == 0 and studio.plots.point_count() == 0
    with qtbot.waitSignal(studio.frame_drawn, timeout=WAIT_MS) as drawn:
        click(qtbot, studio, "trainStepButton")
    assert drawn.args == [1]
    qtbot.waitUntil(lambda: not studio.worker.busy, timeout=WAIT_MS)
    assert trainer.step_count == 1
    # The curve and the opened-up step may be drawn a frame later on a busy machine: wait for them, then check.
    qtbot.waitUntil(
        lambda: studio.plots.point_count() >= 1 and getattr(studio.one_step, "record", None) is not None,
        timeout=WAIT_MS,
    )
    assert studio.plots.point_count() == 1
    steps, losses = studio.plots.train_curve.item.getData()
    assert list(steps) == [1.0] and losses[0] == pytest.approx(trainer.loss_history["train"][0][1])
    # The step is opened up: its batch, and the gradient of the chosen matrix, as the trainer computed them.
    record = studio.one_step.record
    assert record.step == 1 and record.details.x.shape == (TINY.batch_size, TINY.context_length)
    name = studio.one_step.chosen_parameter()
    np.testing.assert_allclose(studio.one_step.gradient_view.matrix(), record.details.gradients[name], rtol=1e-6)
    assert studio.one_step.batch_table.rowCount() == 6  # three windows: inputs and targets


def test_pause_stops_within_one_step(qtbot, studio, monkeypatch, request):
    import threading

    from PySide6.QtWidgets import QPushButton

    trainer = studio.worker.trainer
    in_step, gate = threading.Event(), threading.Event()
    request.addfinalizer(gate.set)  # never leave the worker waiting, even if an assertion fails
    real_step = trainer.step

    def gated_step(*args, **kwargs):  # every step waits at the gate: Pause lands inside a known step
        in_step.set()
        gate.wait(WAIT_MS / 1000)
        return real_step(*args, **kwargs)

    monkeypatch.setattr(trainer, "step", gated_step)
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS) as paused:
        studio.train_steps(100_000)
        assert in_step.wait(WAIT_MS / 1000)  # the first step has begun...
        qtbot.waitUntil(studio.findChild(QPushButton, "trainPauseButton").isEnabled, timeout=WAIT_MS)
        at_pause = trainer.step_count
        click(qtbot, studio, "trainPauseButton")  # ...Pause is pressed during it...
        gate.set()  # ...and it finishes
    assert at_pause == 0 and paused.args[0] == 1  # the step in progress, and not one more
    assert trainer.step_count == 1
    qtbot.waitUntil(lambda: studio.plots.point_count() == trainer.step_count, timeout=WAIT_MS)


def test_scrubbing_to_step_k_shows_the_attention_of_the_step_k_weights(qtbot, studio):
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(12)
    kept = studio.timeline.steps()
    k = kept[len(kept) // 2]
    assert 0 < k < 12
    controller = studio.controller
    with qtbot.waitSignal(
        controller.snapshot_ready, timeout=WAIT_MS, check_params_cb=lambda snapshot: snapshot.step == k
    ) as shown:
        studio.timeline_bar.scrub_to(k)
    snapshot = shown.args[0]
    # The same weights, traced independently of the app.
    model = GPT(studio.run.trainer.model.config)
    model.load_state_dict(studio.timeline.get(k).state_dict())
    reference = model.trace(snapshot.trace.ids, names=pattern_names(model.config.n_layers))
    for name in pattern_names(model.config.n_layers):
        np.testing.assert_allclose(snapshot.trace[name].numpy(), reference[name].numpy(), atol=1e-6)
    # The studio's own head grid draws that same trace.
    np.testing.assert_allclose(
        studio.heads.grid.shown_patterns(),
        np.stack([reference[name][0].numpy() for name in pattern_names(2)]),
        atol=1e-6,
    )
    assert not studio.timeline_bar.live
    assert studio.plots.markers[0].isVisible() and studio.plots.markers[0].value() == k


def test_a_nan_loss_pauses_the_run_and_offers_a_rollback(qtbot, studio):
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(3)
    trainer = studio.worker.trainer
    with qtbot.waitSignal(studio.worker.called, timeout=WAIT_MS):  # poison the weights between steps
        studio.worker.call(lambda t: t.model.lm_head.weight.data.fill_(float("nan")))
    with (
        qtbot.waitSignal(studio.diverged, timeout=WAIT_MS) as diverged,
        qtbot.waitSignal(studio.paused, timeout=WAIT_MS),
    ):
        studio.train_steps(1_000)
    record = diverged.args[0]
    assert record.step == 4 and not np.isfinite(record.loss)
    assert trainer.step_count == 3  # the refused step changed nothing, and nothing ran after it
    assert "Step 4" in studio.message.text() and studio.rollback_button.isVisible()
    with qtbot.waitSignal(studio.worker.called, timeout=WAIT_MS):
        click(qtbot, studio, "rollbackButton")
    assert trainer.lr_scale == 0.5
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(1)
    assert np.isfinite(trainer.loss_history["train"][-1][1])


def test_a_file_that_is_not_utf8_is_refused_and_the_run_is_kept(qtbot, studio, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\u00e9 au lait ".encode("latin-1") * 50)
    run_before = studio.run
    with qtbot.waitSignal(studio.setup_failed, timeout=WAIT_MS) as failed:
        studio.set_up(TINY.with_changes(corpus_kind="file", corpus_name=str(bad)))
    assert "not valid UTF-8" in failed.args[0] and "offset 3" in failed.args[0]
    assert studio.run is run_before and studio.worker.isRunning()
    assert "untouched" in studio.message.text()


def test_a_corpus_too_short_for_the_context_is_refused(qtbot, studio, tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("tiny", encoding="utf-8")
    with qtbot.waitSignal(studio.setup_failed, timeout=WAIT_MS) as failed:
        studio.set_up(TINY.with_changes(corpus_kind="file", corpus_name=str(short)))
    assert "shorter context" in failed.args[0]


def test_a_saved_run_resumes_exactly_from_its_folder(qtbot, studio, tmp_path):
    """What a restart does: rebuild the run from the folder alone (checkpoint + studio.json)."""
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(5)
    with qtbot.waitSignal(studio.saved, timeout=WAIT_MS):
        studio.save_run(tmp_path / "run")
    weights = {k: v.clone() for k, v in studio.run.trainer.model.state_dict().items()}
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(1)
    loss_of_step_6 = studio.run.trainer.loss_history["train"][-1][1]

    with qtbot.waitSignal(studio.run_ready, timeout=WAIT_MS):
        studio.resume(str(tmp_path / "run"))
    trainer = studio.worker.trainer
    assert trainer.step_count == 5 and studio.plots.train_curve.steps == [1, 2, 3, 4, 5]
    for name, value in trainer.model.state_dict().items():
        torch.testing.assert_close(value, weights[name])
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(1)
    assert trainer.loss_history["train"][-1][1] == pytest.approx(loss_of_step_6, rel=1e-6)


def test_attention_over_training_exports_as_gif_and_pngs(qtbot, studio, tmp_path):
    """The GIF decodes (with Pillow) to the same frames the PNGs hold: one per kept step, pixel for pixel
    up to the GIF's 256-colour palette."""
    from PIL import Image

    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(2)
    steps = studio.timeline.steps()
    gif = Image.open(studio.export_gif(tmp_path / "attention.gif"))
    pngs = studio.export_pngs(tmp_path / "frames")
    assert [p.name for p in pngs] == [f"attention_step{s}.png" for s in steps]
    assert gif.n_frames == len(steps) and gif.info["loop"] == 0
    for index, png in enumerate(pngs):
        expected = np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)  # (H, W, 3)
        gif.seek(index)
        decoded = np.asarray(gif.convert("RGB"), dtype=np.int16)
        assert decoded.shape == expected.shape
        assert np.abs(decoded - expected).max() <= 8, f"frame of step {steps[index]}"


def test_bpe_training_is_shown_and_replayed_merge_by_merge(qtbot, studio):
    setup = TINY.with_changes(corpus_kind="builtin", corpus_name="lessons", tokenizer="bpe", bpe_vocab_size=300)
    with qtbot.waitSignal(studio.run_ready, timeout=WAIT_MS):
        studio.set_up(setup)
    view, tokenizer = studio.bpe_view, studio.run.tokenizer
    assert view.merge_list.count() == len(tokenizer.merges) == 44
    prompt = studio.run.probe_prompt
    view.slider.setValue(0)  # no merges yet: one token per byte
    assert len(view.strip.chips()) == len(prompt.encode("utf-8"))
    view.slider.setValue(44)  # every merge: what the model reads
    assert [chip.token_id for chip in view.strip.chips()] == tokenizer.encode(prompt)
    assert "44 merges" in view.replay_label.text()


def test_a_dropped_file_becomes_the_corpus_choice(qtbot, studio, tmp_path):
    from PySide6.QtCore import QUrl

    notes = tmp_path / "notes.txt"
    notes.write_text("hello world\n" * 200, encoding="utf-8")
    assert studio.open_dropped([QUrl.fromLocalFile(str(notes))])
    chosen = studio.setup_panel.setup()
    assert (chosen.corpus_kind, chosen.corpus_name) == ("file", str(notes))
    with qtbot.waitSignal(studio.run_ready, timeout=WAIT_MS):
        studio.set_up(chosen)
    assert studio.run.tokenizer.vocab_size == len(set("hello world\n"))


def test_an_autosaved_run_is_offered_after_a_restart(qtbot, studio, tmp_path):
    from PySide6.QtWidgets import QPushButton

    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(3)
    with qtbot.waitSignal(studio.saved, timeout=WAIT_MS):
        studio.save_run(tmp_path / "autosave")
    restarted = StudioPanel(None, autosave_folder=tmp_path / "autosave")
    qtbot.addWidget(restarted)
    offer = restarted.findChild(QPushButton, "resumeAutosaveButton")
    assert not offer.isHidden() and "step 3" in offer.text()
    with qtbot.waitSignal(restarted.run_ready, timeout=WAIT_MS):
        qtbot.mouseClick(offer, Qt.MouseButton.LeftButton)
    assert restarted.worker.trainer.step_count == 3
    restarted.shutdown()


def _detector_scores_by_hand(run, weights) -> dict[str, np.ndarray]:
    """core's detectors on a fresh model holding `weights`: induction on the repeated random probe, the
    others on the run's probe prompt (as the legend says). {detector: (n_layers, n_heads)}."""
    model = GPT(run.trainer.model.config)
    model.load_state_dict(weights.state_dict())
    model.eval()
    names = pattern_names(model.config.n_layers)
    prompt_ids = run.tokenizer.encode(run.probe_prompt)[-model.config.context_length :]
    on_prompt = head_scores(model.trace(prompt_ids, names=names))
    on_repeats = head_scores(model.trace(run.detector_probe, names=names))
    return {**on_prompt, "induction": on_repeats["induction"]}


def test_the_detector_curves_are_cores_scores_of_each_kept_step(qtbot, studio, monkeypatch):
    monkeypatch.setattr("app.studio.worker.SCORES_SHARE", 1e9)  # every kept step scored, however slow scoring is
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS, check_params_cb=lambda step: step == 6):
        studio.train_steps(6)
    run, plots = studio.run, studio.heads.detectors
    steps = studio.timeline.steps()
    assert steps == list(range(7)) and plots.steps == steps  # every step kept and scored (40 planned)
    expected = {step: _detector_scores_by_hand(run, studio.timeline.get(step)) for step in steps}
    n_layers, n_heads = run.trainer.model.config.n_layers, run.trainer.model.config.n_heads
    for name in DETECTORS:
        assert len(plots.curves[name]) == n_layers * n_heads  # one curve per head
        for layer in range(n_layers):
            for head in range(n_heads):
                x, y = plots.curves[name][layer * n_heads + head].getData()
                assert list(x) == steps, (name, layer, head)
                by_hand = [expected[step][name][layer, head] for step in steps]
                np.testing.assert_allclose(y, by_hand, atol=1e-6, err_msg=f"{name} L{layer} H{head}")
    # The numbers move with training: not one flat line drawn from one set of weights.
    assert not np.allclose(expected[0]["previous_token"], expected[6]["previous_token"])


def test_at_full_speed_scoring_the_heads_stays_within_its_share_of_the_training(qtbot, studio, monkeypatch):
    """Scores cost about a third of a tiny step: at full speed the kept steps are scored only within
    SCORES_SHARE of the training thread's time (none here but the first); at a set pace, every one."""
    monkeypatch.setattr("app.studio.worker.SCORES_SHARE", 0.0)
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS, check_params_cb=lambda step: step == 6):
        studio.train_steps(6)
    assert studio.timeline.steps() == list(range(7))  # every step is still kept (the explorer can show it)
    assert studio.heads.detectors.steps == [0]  # scored when the run was set up, not while racing
    studio.set_pace(30)
    try:
        with qtbot.waitSignal(studio.paused, timeout=WAIT_MS, check_params_cb=lambda step: step == 10):
            studio.train_steps(4)
    finally:
        studio.set_pace(0)
    assert studio.heads.detectors.steps == [0, 7, 8, 9, 10]


def test_while_training_a_tab_out_of_sight_is_not_drawn_until_it_is_shown(qtbot, studio):
    studio.tabs.setCurrentWidget(studio.heads)
    studio.set_pace(30)  # pictures while training (at full speed they may be few)
    seen = []  # (steps taken in, points drawn) at each frame while training

    def on_frame(step):
        if studio.controls.pause_button.isEnabled():  # still training
            seen.append((len(studio.plots.train_curve.steps), studio.plots.point_count()))

    studio.frame_drawn.connect(on_frame)
    try:
        with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
            studio.train_steps(20)
    finally:
        studio.frame_drawn.disconnect(on_frame)
        studio.set_pace(0)
    assert seen and seen[-1][0] > 0 and all(drawn == 0 for _, drawn in seen)  # the Curves tab was not drawn
    studio.tabs.setCurrentWidget(studio.plots)
    assert studio.plots.point_count() == 20  # everything, once shown (and at the pause)


def test_a_pace_chosen_while_training_sets_how_often_the_news_is_collected_at_once(qtbot, studio):
    from app.studio.timeline_controller import DRAW_INTERVAL_S, FRAME_MS

    timer = studio.frames._timer
    studio.set_pace(30)
    try:
        with qtbot.waitSignal(studio.runs.running_changed, timeout=WAIT_MS, check_params_cb=bool):
            studio.train_steps(30)
        assert timer.interval() == FRAME_MS  # a set pace: every step's news, ~30 times a second
        studio.set_pace(0)
        assert timer.interval() == round(DRAW_INTERVAL_S * 1000)  # full speed: drawn within a budget
        studio.set_pace(30)
        assert timer.interval() == FRAME_MS
    finally:
        with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
            studio.pause()
        studio.set_pace(0)


def test_progress_in_the_timeline_label_does_not_re_lay_out_the_studio(qtbot, studio):
    """The label changes with every piece of progress; a QLabel there asked the whole window for a new layout."""
    from PySide6.QtCore import QCoreApplication, QEvent, QObject

    class LayoutRequests(QObject):
        count = 0

        def eventFilter(self, watched, event) -> bool:
            self.count += event.type() == QEvent.Type.LayoutRequest
            return False

    bar = studio.timeline_bar
    bar.set_latest_step(9, 1, 10)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)  # the first text's room, laid out
    requests = LayoutRequests()
    bar.installEventFilter(requests)
    try:
        for step in (10, 99, 100, 5000):
            bar.set_latest_step(step, 1, step + 1)
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
    finally:
        bar.removeEventFilter(requests)
    assert requests.count == 0 and bar.label.text() == "step 5000 (live) · 5001 snapshots, every 1 steps"
