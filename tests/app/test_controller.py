"""The controller: prompt -> immutable Snapshot off the GUI thread; newest request wins."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.controller import Controller
from app.state.snapshot_maker import SnapshotMaker, build_snapshot, encode_prompt, fit_to_context
from app.state.snapshot import Snapshot
from core import Intervention


def test_fit_to_context_keeps_the_last_tokens():
    kept, cut = fit_to_context(list(range(10)), 4)
    assert kept == [6, 7, 8, 9] and cut == [0, 1, 2, 3, 4, 5]
    assert fit_to_context([1, 2], 4) == ([1, 2], [])


def test_unknown_characters_are_left_out_and_named(session):
    ids, notice = encode_prompt(session.tokenizer, "ab€c")
    assert ids == session.tokenizer.encode("abc")
    assert "'€'" in notice


def test_snapshot_is_the_models_trace(session):
    snapshot, notice = build_snapshot(session, "the cat", Intervention())
    expected = session.model.trace(session.tokenizer.encode("the cat"))
    assert notice == ""
    assert snapshot.token_labels == ("t", "h", "e", "␣", "c", "a", "t")
    assert snapshot.token_bytes[3] == b" "
    assert snapshot.baseline is None and snapshot.truncated == 0
    for name in ("blocks.1.attn.pattern", "logits", "embed.pos"):
        np.testing.assert_array_equal(snapshot.trace.numpy(name), expected.numpy(name))
    np.testing.assert_array_equal(snapshot.vocab_embeddings, session.model.transformer.wte.weight.detach().numpy())
    assert snapshot.vocab_projection.shape == (session.config.vocab_size, 2)
    assert not snapshot.vocab_embeddings.flags.writeable


def test_snapshot_of_a_long_prompt_cuts_the_front_and_says_so(session):
    text = "abcdefghijklmnopqrstuvwxyz"  # 26 tokens, the context holds 16
    snapshot, notice = build_snapshot(session, text, Intervention())
    assert snapshot.truncated == 10
    assert "".join(snapshot.token_labels) == text[10:]
    assert "".join(snapshot.cut_labels) == text[:10]
    assert "first 10 are cut" in notice


def test_a_model_with_a_long_context_is_traced_on_the_last_tokens_one_trace_can_hold(session_factory):
    """A real model may declare 32,768 positions; one trace keeps (heads, T, T) patterns, so the
    explorer reads at most LONGEST_TRACED_PROMPT tokens of it."""
    from core.model.footprint import LONGEST_TRACED_PROMPT

    session = session_factory(context_length=LONGEST_TRACED_PROMPT + 64, pos_encoding="rope", n_layers=1)
    text = "ab" * (LONGEST_TRACED_PROMPT // 2 + 10)  # 20 tokens more than one trace holds
    snapshot, notice = build_snapshot(session, text, Intervention())
    assert snapshot.n_tokens == LONGEST_TRACED_PROMPT and snapshot.truncated == 20
    assert f"reads at most {LONGEST_TRACED_PROMPT}" in notice and "first 20 are cut" in notice


def test_a_what_if_comes_with_the_intact_baseline(session):
    intervention = Intervention(ablate_heads={(0, 1)})
    snapshot, _ = build_snapshot(session, "the cat", intervention)
    ids = session.tokenizer.encode("the cat")
    np.testing.assert_array_equal(
        snapshot.trace.numpy("logits"), session.model.trace(ids, intervention=intervention).numpy("logits")
    )
    np.testing.assert_array_equal(snapshot.baseline.numpy("logits"), session.model.trace(ids).numpy("logits"))
    assert not np.allclose(snapshot.trace.numpy("logits"), snapshot.baseline.numpy("logits"))


@pytest.fixture
def controller(qtbot, session):
    controller = Controller(session)
    yield controller
    controller.shutdown()


def test_the_newest_prompt_wins(qtbot, controller):
    delivered: list[Snapshot] = []
    controller.snapshot_ready.connect(delivered.append)
    prompts = ["t", "th", "the", "the c", "the ca", "the cat"]
    with qtbot.waitSignal(controller.snapshot_ready, timeout=10000):
        for prompt in prompts:  # faster than the worker: the older requests are stale
            controller.set_prompt(prompt)
    qtbot.waitUntil(lambda: not controller.busy, timeout=10000)
    assert [s.token_labels for s in delivered] == [("t", "h", "e", "␣", "c", "a", "t")]


def test_empty_prompt_gives_a_message_and_no_snapshot(qtbot, controller):
    with qtbot.waitSignal(controller.snapshot_ready, timeout=10000):
        controller.set_prompt("cat")
    with qtbot.waitSignal(controller.message, timeout=1000) as message:
        controller.set_prompt("")
    assert "empty" in message.args[0]
    assert not controller.busy
    assert controller.snapshot.token_labels == ("c", "a", "t")  # the views keep the last picture


def test_typing_after_an_empty_prompt_takes_its_message_down(qtbot, controller):
    controller.set_prompt("")
    messages = []
    controller.message.connect(messages.append)
    with qtbot.waitSignal(controller.snapshot_ready, timeout=10000):
        controller.set_prompt("cat")
    assert messages == [""]  # the status bar no longer says the prompt is empty
    with qtbot.waitSignal(controller.snapshot_ready, timeout=10000):
        controller.set_prompt("cats")
    assert messages == [""]  # nothing to take down: no message at all


def test_a_failing_model_gives_a_message_and_the_worker_goes_on(qtbot, controller, session, monkeypatch):
    def broken_trace(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(session.model, "trace", broken_trace)
    with qtbot.waitSignal(controller.message, timeout=10000) as message:
        controller.set_prompt("cat")
    assert "could not read this prompt: out of memory" in message.args[0]
    monkeypatch.undo()
    with qtbot.waitSignal(controller.snapshot_ready, timeout=10000) as ready:
        controller.set_prompt("cats")
    assert ready.args[0].n_tokens == 4


def test_a_new_model_clears_a_what_if_it_cannot_hold(qtbot, controller, session_factory):
    controller.set_intervention(Intervention(ablate_heads={(1, 1)}))
    with qtbot.waitSignal(controller.snapshot_ready, timeout=10000) as ready:
        controller.set_prompt("cat")
    assert ready.args[0].baseline is not None
    smaller = session_factory(n_layers=1, n_heads=1)
    with qtbot.waitSignal(controller.snapshot_ready, timeout=10000) as ready:
        controller.set_session(smaller)
    assert controller.intervention.is_empty
    assert ready.args[0].baseline is None and ready.args[0].config.n_layers == 1


def test_shutdown_ends_the_worker_thread(qtbot, session):
    controller = Controller(session)
    assert controller.worker_running
    controller.shutdown()
    assert not controller.worker_running


def test_snapshot_holds_no_live_tensor(session):
    snapshot, _ = build_snapshot(session, "cat", Intervention())
    with torch.no_grad():
        session.model.transformer.wte.weight.add_(1.0)  # a trainer writing the weights later...
    assert not np.allclose(snapshot.vocab_embeddings, session.model.transformer.wte.weight.detach().numpy())


def test_a_what_if_on_the_same_prompt_reuses_the_intact_trace(session, monkeypatch):
    calls = []
    real_trace = session.model.trace
    monkeypatch.setattr(session.model, "trace", lambda *a, **k: calls.append(k) or real_trace(*a, **k))
    maker = SnapshotMaker()
    intact, _ = maker.make(session, "the cat", Intervention())
    ablated, _ = maker.make(session, "the cat", Intervention(ablate_heads={(1, 0)}))
    assert ablated.baseline is intact.trace and len(calls) == 2  # one pass each, not three
    other, _ = maker.make(session, "the dog", Intervention(ablate_heads={(1, 0)}))
    assert other.baseline is not intact.trace and len(calls) == 4


def test_a_keystroke_traces_only_the_new_tokens_and_equals_a_full_trace(session):
    """The previous intact (and what-if) trace is where the next one starts; the result is the full trace."""
    lengths = []
    first_block = session.model.transformer.h[0]
    maker = SnapshotMaker()
    ablated = Intervention(ablate_heads={(0, 0)})
    for intervention in (Intervention(), ablated):
        maker.make(session, "the ca", intervention)
        first_block.hook_resid_pre.listeners.append(lambda value, name: lengths.append(value.size(1)) or value)
        snapshot, _ = maker.make(session, "the cat", intervention)
        first_block.hook_resid_pre.listeners.clear()
        full = session.model.trace(snapshot.trace.ids, intervention=intervention)
        for name in full:
            assert torch.allclose(snapshot.trace[name], full[name], rtol=1e-5, atol=1e-5), name
    new_tokens = len(session.tokenizer.encode("the cat")) - len(session.tokenizer.encode("the ca"))
    # the intact trace, then the what-if and its intact baseline (the baseline itself incremental)
    assert lengths == [new_tokens, new_tokens, new_tokens]


def test_the_snapshot_names_the_model_that_made_it_until_a_new_models_snapshot_arrives(
    qtbot, controller, session, session_factory
):
    """Right after a new model is set the old snapshot is still shown; numbers read from it (the lesson
    pane's) must use the model that made it, whose tokenizer knows its ids."""
    with qtbot.waitSignal(controller.snapshot_ready, timeout=10000):
        controller.set_prompt("the cat")
    other = session_factory(seed=1)
    controller.set_session(other)
    assert controller.busy and controller.snapshot_session is session
    with qtbot.waitSignal(controller.snapshot_ready, timeout=10000):
        pass
    assert controller.snapshot_session is other
