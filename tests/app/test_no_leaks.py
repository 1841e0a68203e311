"""Many windows of work leave nothing behind: the soak benchmark's phases, smaller, with stated bounds.

benchmarks/soak_explorer.py drives the real window; here each phase runs 12-160 cycles and asserts:
- threads: as many Python threads and running QThreads (ours) after the phase as before it; OS threads
  (libraries and the OS start pools of their own) only loosely: not one more every other cycle;
- old models: collected once the window has moved on (weak references, exact);
- Qt objects: as many QObjects, widgets and graphics items after reopening every panel as before (exact);
- memory: RSS grows per cycle, over the phase's second half (the first half pays for one-off caches),
  less than LEAK_FRACTION of what keeping the cycle's model would add, that size measured in the same
  test on the models it shows. Keeping every old model (1.3 and 3.1 MB here) or every scrubbed
  snapshot's model breaks this bound (RELIABILITY.md, "Many windows of work").
No timings and no machine-specific sizes are asserted.
"""

from __future__ import annotations

import gc
import importlib.util
import sys
import weakref
from pathlib import Path

import pytest
import shiboken6

from core import preset
from core.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
LEAK_FRACTION = 0.4  # RSS growth per cycle, as a part of one leaked model per cycle
OBJECT_BOUND = 20  # gc-tracked objects per cycle: a view adding a plot item per redraw breaks it
PROMPTS = ["the cat sat on the mat", "a dog ran in the park"]  # alternating: every cycle is a new trace
MB = 2**20


def _load_soak():
    spec = importlib.util.spec_from_file_location("soak_explorer", ROOT / "benchmarks" / "soak_explorer.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


soak = _load_soak()


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    window = soak.make_window(tmp_path_factory.mktemp("soak"))
    soak.type_prompt(window, PROMPTS[0])
    yield window
    window.close()
    shiboken6.delete(window)  # a closed window that is only dropped stays alive (~40 MB): RELIABILITY.md


def two_models(window):
    """A 3.1 MB and a 1.3 MB untrained model (float32 weights), on the lessons' characters."""
    return [
        lambda: window.models.new_model(preset("micro"), "lessons", seed=0),
        lambda: window.models.new_model(preset("nano", n_layers=3, n_heads=4, d_model=96), "lessons", seed=1),
    ]


def assert_threads_back(phase, after) -> None:
    """Our threads exactly; the process's OS threads only so far as a leak would show: one more per cycle."""
    before = phase.before
    assert (after.python_threads, after.qthreads) == (before.python_threads, before.qthreads)
    second_half = phase.readings[len(phase.readings) // 2 :]
    growth = second_half[-1].os_threads - second_half[0].os_threads
    assert growth < len(second_half) / 2, [reading.os_threads for reading in phase.readings]


def assert_memory_bounded(phase, leak_mb_per_cycle: float) -> None:
    """RSS wobbles (allocator, caches); keeping what each cycle showed would add leak_mb_per_cycle."""
    assert phase.rss_slope() < LEAK_FRACTION * leak_mb_per_cycle, (leak_mb_per_cycle, phase.summary())


def megabytes(arrays) -> float:
    """Size of these tensors or arrays, each counted once (tied weights share one)."""
    unique = {id(array): array for array in arrays}.values()
    return (
        sum(array.numel() * array.element_size() if hasattr(array, "numel") else array.nbytes for array in unique) / MB
    )


def qt_census(window) -> tuple[int, int, int]:
    """(QObjects under the window, graphics items in its plots' scenes, widgets of the whole app)."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication, QGraphicsView

    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)  # what deleteLater() let go, gone now
    views = window.findChildren(QGraphicsView)
    items = sum(len(view.scene().items()) for view in views if view.scene() is not None)
    return len(window.findChildren(QObject)), items, len(QApplication.allWidgets())


def test_an_old_model_is_freed_once_the_window_moved_on_without_waiting_for_the_cyclic_gc(window):
    old = weakref.ref(window.controller.session.model)
    old_session = weakref.ref(window.controller.session)
    gc.collect()
    gc.disable()  # freed by reference counting alone: a model in a reference cycle waits for a full collection
    try:
        window.models.new_model(preset("nano"), "lessons", seed=3)
        soak.type_prompt(window, "the model is new")
        assert old() is None and old_session() is None
    finally:
        gc.enable()


def test_switching_models_16_times_keeps_threads_memory_and_old_models_bounded(window):
    sizes = []

    def measured(switch):
        def switch_and_measure():
            switch()
            sizes.append(megabytes(window.controller.session.model.parameters()))

        return switch_and_measure

    phase = soak.Phase("switch models", light=True)
    soak.switch_models(window, phase, [measured(switch) for switch in two_models(window)], 16, PROMPTS)
    after = phase.finish()
    assert_threads_back(phase, after)
    assert after.sessions_alive == 1 and after.models_alive == 1  # only the one shown
    assert_memory_bounded(phase, min(sizes))


def test_closing_and_reopening_every_panel_12_times_leaks_nothing(window):
    soak.toggle_panels(window, soak.Phase("warm-up", light=True), 4, PROMPTS)  # first drawings fill caches
    census = qt_census(window)
    phase = soak.Phase("open and close panels", light=True)
    soak.toggle_panels(window, phase, 12, PROMPTS)
    after = phase.finish()
    assert_threads_back(phase, after)
    assert all(panel.dock.isVisible() for panel in window.panels)
    assert qt_census(window) == census  # no widget, plot item or other QObject left over from a cycle
    assert after.gc_objects - phase.before.gc_objects < OBJECT_BOUND * 12, phase.summary()


def test_scrubbing_the_timeline_160_times_reuses_the_display_models(window):
    kept = soak.record_timeline(window, steps=40)
    assert len(kept) >= 10
    snapshot_mb = megabytes(window.studio.timeline.get(kept[0]).tensors.values())
    phase = soak.Phase("scrub the timeline", light=True)
    soak.scrub_timeline(window, phase, 160, kept, read_every=10, draw_every=20)
    after = phase.finish()
    assert_threads_back(phase, after)
    summary = phase.summary()
    assert summary["sessions_shown"] == 160  # every scrub showed another kept step...
    # ...in one of a few recycled models: the one shown, one waiting to be traced, one being traced and
    # the last one traced (the worker keeps its intact trace); keeping old sessions would build one per scrub
    assert summary["models_shown"] <= 4
    assert after.sessions_alive <= 2  # the one shown (and the one traced before it, if still held)
    assert_memory_bounded(phase, 10 * snapshot_mb)  # a cycle is 10 scrubs: 10 models kept, if kept


def test_setting_up_runs_again_and_again_frees_each_previous_run(window):
    soak.record_timeline(window, steps=2)  # a run in place, so its training thread exists before and after
    # Trainers of other tests' windows (a closed window lives on in Qt) are not this test's business.
    first = weakref.ref(window.ensure_studio().run.trainer)  # weakly: this run's trainer must be free to go
    elsewhere = weakref.WeakSet(o for o in gc.get_objects() if type(o) is Trainer and o is not first())
    phase = soak.Phase("set up studio runs", light=True)
    soak.set_up_runs(window, phase, 3, steps=2)
    after = phase.finish()
    assert_threads_back(phase, after)
    assert after.qthread_objects == phase.before.qthread_objects  # the old runs' worker threads are deleted
    gc.collect()
    trainers = [o for o in gc.get_objects() if type(o) is Trainer and o not in elsewhere]
    assert trainers == [window.ensure_studio().run.trainer]  # and so are their trainers (model, optimizer, timeline)
    assert after.sessions_alive == 1


def test_lesson_numbers_follow_new_weights_in_a_recycled_model(window):
    """The studio reuses a freed session's model for the next weights (and a freed model's address can
    come back for the next one): a cache keyed by the model would repeat the old model's numbers."""
    import torch

    from app.studio.display import WeightDisplay
    from core.training.trainer import WeightSnapshot

    step = next(s for lesson in window.classroom.lessons for s in lesson.steps if s.id == "01-loss-gradient-update")
    window.models.new_model(preset("nano"), "lessons", seed=4)
    soak.type_prompt(window, PROMPTS[0])
    session = window.controller.session
    display = WeightDisplay(session.config, session.tokenizer, "recycled")
    losses, models = [], []
    for seed in (5, 6, 7):  # the first session is freed while the second is shown: the third gets its model
        torch.manual_seed(seed)
        weights = {
            name: tensor.detach().numpy().copy()
            for name, tensor in type(session.model)(session.config).state_dict().items()
        }
        window.set_session(display.session_for(WeightSnapshot(seed, weights)))
        soak.wait_drawn(window)
        models.append(id(window.controller.session.model))
        if seed != 6:  # the second went by unnumbered (a quick scrub, or the lesson pane hidden)
            losses.append(window.classroom.numbers_for(step)["update_loss_before"])
    assert models[2] == models[0]  # the same model object, recycled...
    assert losses[1] != losses[0]  # ...with the third weights' own numbers
