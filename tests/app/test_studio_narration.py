"""A studio a teacher can narrate: a pace down to one step a second, the explorer left alone until the
first step, another model puts the run away, GIF export in the background with Cancel, titles that fit.

Every wait is on a signal; the only timing assertion is a lower bound (a pace can only make steps slower).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from app.controller import Controller
from app.state.model_in_use import ModelInUse
from app.settings import AppSettings
from app.studio import StudioPanel
from app.studio.attention_frames import GAP, TITLE_HEIGHT, fitted_title_font, frame_title, image_to_rgb, render_frame
from core.model.config import preset
from core.model.model import GPT
from core.tokenizers import CharTokenizer
from studio_runs import TINY_RUN

TINY = TINY_RUN
WAIT_MS = 20_000


def explorer_session(name: str = "the explorer's own model") -> ModelInUse:
    tokenizer = CharTokenizer("abc .\n")
    return ModelInUse(GPT(preset("nano", vocab_size=tokenizer.vocab_size)), tokenizer, name)


@pytest.fixture(scope="module")
def shared(qapp, tmp_path_factory):
    """(controller, studio): one studio per module; each test puts the explorer back on a model of its own."""
    controller = Controller(explorer_session())
    controller.set_prompt("abc abc")
    panel = StudioPanel(controller, autosave_folder=tmp_path_factory.mktemp("autosave"))
    panel.resize(1200, 700)
    panel.show()
    yield controller, panel
    panel.shutdown()
    controller.shutdown()
    panel.close()


@pytest.fixture
def studio(qtbot, shared):
    """The shared studio with a fresh TINY run at step 0; the explorer shows a model of its own."""
    controller, panel = shared
    controller.set_session(explorer_session())  # puts any earlier run away
    panel.set_pace(0)
    with qtbot.waitSignal(panel.run_ready, timeout=WAIT_MS):
        panel.set_up(TINY)
    return panel


# -- the pace ---------------------------------------------------------------------------------------------


def test_one_step_a_second_is_honoured(qtbot, studio):
    studio.set_pace(1)
    assert studio.controls.pace.currentText() == "1 step/s" and studio.runs.steps_per_second_limit == 1
    published = []
    studio.worker.stepped.connect(lambda step, at: published.append((step, at)), Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(3)
    assert [step for step, _ in published] == [1, 2, 3]
    times = [at for _, at in published]
    assert all(later - earlier >= 0.5 for earlier, later in zip(times, times[1:])), times  # never faster
    assert "1 step/s" in studio.message.text() or "Paused at step 3" in studio.message.text()


def test_pause_ends_a_slow_step_at_once(qtbot, studio):
    studio.set_pace(1)
    with qtbot.waitSignal(studio.frame_drawn, timeout=WAIT_MS):
        studio.train_steps(1_000)
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS) as paused:
        studio.pause()
    assert paused.args[0] < 1_000 and studio.worker.trainer.step_count == paused.args[0]


def test_the_pace_is_explained_on_screen_and_remembered(qtbot, tmp_path):
    settings = AppSettings(str(tmp_path / "settings.ini"))
    first = StudioPanel(None, autosave_folder=tmp_path / "autosave", settings=settings)
    qtbot.addWidget(first)
    first.show()
    assert first.controls.pace_note.isVisible() and "steps per second" in first.controls.pace_note.text()
    assert first.controls.pace_rate == 0  # as fast as possible, until chosen
    first.set_pace(2)
    again = StudioPanel(
        None, autosave_folder=tmp_path / "autosave", settings=AppSettings(str(tmp_path / "settings.ini"))
    )
    qtbot.addWidget(again)
    assert again.controls.pace.currentText() == "2 steps/s" and again.runs.steps_per_second_limit == 2


# -- the explorer and the studio's model ------------------------------------------------------------------


def test_set_up_leaves_the_explorer_alone_until_the_first_step(qtbot, studio):
    controller = studio.controller
    own, prompt = controller.session, controller.prompt
    assert studio.run is not None and controller.session is own and controller.prompt == prompt
    assert studio.notes.takeover_note.isHidden()
    with qtbot.waitSignal(studio.shown_step_changed, timeout=WAIT_MS) as shown:
        studio.step()
    assert shown.args == [1]
    assert controller.session is not own and controller.session.step == 1
    assert controller.prompt == studio.run.probe_prompt
    assert not studio.notes.takeover_note.isHidden() and "step 1" in studio.notes.takeover_note.text()


def test_opening_another_model_puts_the_run_away(qtbot, studio):
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(3)
    qtbot.waitUntil(lambda: studio.shown_step == 3, timeout=WAIT_MS)
    worker = studio.worker
    with qtbot.waitSignal(studio.put_away, timeout=WAIT_MS):
        studio.controller.set_session(explorer_session("a model opened from the menu"))
    assert worker.isFinished()
    assert studio.run is None and studio.worker is None and studio.timeline is None
    assert studio.plots.point_count() == 0 and studio.heads.detectors.steps == []
    assert studio.timeline_bar.slider.maximum() == 0 and not studio.controls.play_button.isEnabled()
    assert "different model" in studio.message.text() and studio.notes.takeover_note.isHidden()
    offer = studio.setup_panel.autosave_button
    assert not offer.isHidden() and "step 3" in offer.text()  # the 3 steps were autosaved, not lost


def test_the_studios_own_weights_do_not_put_the_run_away(qtbot, studio):
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(4)
    kept = studio.timeline.steps()
    with qtbot.waitSignal(studio.shown_step_changed, timeout=WAIT_MS):
        studio.timeline_bar.scrub_to(kept[1])
    assert studio.run is not None and studio.worker.isRunning()


# -- export ------------------------------------------------------------------------------------------------


def test_a_gif_exported_in_the_background_decodes_to_the_frames(qtbot, studio, tmp_path):
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(3)
    steps = studio.timeline.steps()
    target = tmp_path / "attention.gif"
    reported = []
    studio.exporter.started.connect(lambda job: job.progress.connect(lambda done, total: reported.append(done)))
    with qtbot.waitSignal(studio.export_finished, timeout=WAIT_MS) as finished:
        studio.export_gif_in_background(target)
        assert studio.exporter.isVisible() and studio.exporter.busy  # progress bar and Cancel on screen
    assert finished.args == [f"Saved {len(steps)} frames to {target}", False]
    assert not studio.exporter.isVisible() and reported[-1] == len(steps)
    expected = [image_to_rgb(image) for _, image in studio.exporter.frames()]
    gif = Image.open(io.BytesIO(target.read_bytes()))
    assert gif.format == "GIF" and gif.n_frames == len(steps) == len(expected)
    assert gif.size == (expected[0].shape[1], expected[0].shape[0])
    for index, frame in enumerate(expected):
        gif.seek(index)
        decoded = np.asarray(gif.convert("RGB"), dtype=np.int16)
        assert np.abs(decoded - frame).max() <= 8, f"frame {index} differs from the attention drawn"


def test_a_cancelled_gif_export_leaves_no_file(qtbot, studio, tmp_path):
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS):
        studio.train_steps(4)
    target = tmp_path / "attention.gif"
    target.write_bytes(b"an older GIF the user keeps")
    made = []

    def cancel_after_the_first_frame(job) -> None:  # on the export's own thread, before frame 2 is made
        job.progress.connect(lambda done, total: (made.append(done), job.cancel()), Qt.ConnectionType.DirectConnection)

    studio.exporter.started.connect(cancel_after_the_first_frame)
    try:
        with qtbot.waitSignal(studio.export_finished, timeout=WAIT_MS) as finished:
            studio.export_gif_in_background(target)
    finally:
        studio.exporter.started.disconnect(cancel_after_the_first_frame)
    assert made == [1] and len(studio.timeline) >= 3  # it was cancelled part-way through
    assert finished.args == ["Export cancelled; nothing was written.", False]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attention.gif"]  # no temporary or half file
    assert target.read_bytes() == b"an older GIF the user keeps"


def test_a_frame_title_fits_and_starts_with_the_step():
    patterns = np.full((1, 1, 3, 3), 1 / 3)  # the narrowest frame: one head of 3 tokens
    title = frame_title(123_456)
    assert title.startswith("Step 123456")
    image = render_frame(patterns, title)
    font = fitted_title_font(title, image.width() - 2 * GAP)
    from PySide6.QtGui import QFontMetrics

    assert QFontMetrics(font).horizontalAdvance(title) <= image.width() - 2 * GAP
    band = image_to_rgb(image)[:TITLE_HEIGHT]  # (TITLE_HEIGHT, W, 3): the title's strip
    inked = np.where(band.min(axis=(0, 2)) < 128)[0]  # columns with dark text in them
    assert inked.size and inked[0] >= GAP - 1 and inked[-1] <= image.width() - GAP


def test_a_set_up_still_building_when_another_model_opens_is_not_installed(qtbot, studio):
    from PySide6.QtCore import QCoreApplication

    with qtbot.waitSignal(studio.put_away, timeout=WAIT_MS):
        studio.set_up(TINY.with_changes(seed=7))  # built on its thread; its answer comes as an event
        studio.controller.set_session(explorer_session("opened meanwhile"))  # no event handled in between
    builder = studio.runs._builder
    assert builder.wait(WAIT_MS) and builder.delivered  # the run was built...
    QCoreApplication.processEvents()  # ...and its `built` handed to the studio
    assert studio.run is None and studio.worker is None  # which did not install it
