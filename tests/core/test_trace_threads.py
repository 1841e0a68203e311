"""Two threads tracing one model: each trace holds only its own pass's values."""

from __future__ import annotations

import threading

import torch

from core import GPT, preset


def test_a_trace_started_while_another_is_mid_pass_waits_for_it():
    torch.manual_seed(0)
    model = GPT(preset("nano", vocab_size=20, context_length=16))
    short, long = [1, 2, 3], [4, 5, 6, 7, 8, 9, 10]
    expected_short, expected_long = model.trace(short), model.trace(long)
    other_done = threading.Event()
    results = {}

    def trace_the_long_prompt() -> None:
        results["long"] = model.trace(long)
        other_done.set()

    other = threading.Thread(target=trace_the_long_prompt)

    def midway(value: torch.Tensor, _name: str) -> torch.Tensor:
        """In the middle of the short prompt's pass, start the long one and give it time to run: without
        the tracing lock it would run now, and the short trace would record some of its values."""
        if not other.is_alive() and "long" not in results:
            other.start()
            other_done.wait(timeout=1.0)  # with the lock it cannot finish: this waits the whole second
        return value

    hook = model.hook_points()["blocks.0.resid_mid"]
    hook.listeners.append(midway)
    try:
        results["short"] = model.trace(short)
    finally:
        hook.listeners.remove(midway)
    other.join(timeout=60)
    for name in ("blocks.0.attn.pattern", "blocks.1.resid_post", "logits"):
        torch.testing.assert_close(results["short"][name], expected_short[name])
        torch.testing.assert_close(results["long"][name], expected_long[name])
