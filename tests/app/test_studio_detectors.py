"""The studio's head-detector curves are core's detectors: at every kept step, each head's point is the
score core.teaching.detectors gives the weights of that step (induction on the repeated random probe, the
others on the run's probe prompt)."""
from __future__ import annotations

import numpy as np
import pytest

from app.controller import Controller
from app.sessions import ModelSession
from app.studio import StudioPanel
from app.studio.run_setup import RunSetup
from core.model.config import preset
from core.model.model import GPT
from core.teaching.detectors import DETECTORS, head_scores, pattern_names
from core.tokenizers import CharTokenizer

# Every step kept (6 planned steps, fewer than the studio's first snapshots), so every step has scores.
RUN = RunSetup(corpus_kind="synthetic", corpus_name="previous-token", model_preset="nano", context_length=16,
               batch_size=8, max_steps=6, warmup_steps=2, eval_interval=0, sample_interval=0)
WAIT_MS = 20_000


@pytest.fixture
def studio(qtbot, tmp_path):
    tokenizer = CharTokenizer("abc .\n")
    controller = Controller(ModelSession(GPT(preset("nano", vocab_size=tokenizer.vocab_size)), tokenizer, "start"))
    panel = StudioPanel(controller, autosave_folder=tmp_path / "autosave")
    panel.resize(1200, 700)
    panel.show()
    yield panel
    panel.shutdown()
    controller.shutdown()
    panel.close()


def scores_by_hand(run, weights) -> dict[str, np.ndarray]:
    """core's detectors on a fresh model holding `weights`: {detector: (n_layers, n_heads)}."""
    model = GPT(run.trainer.model.config)
    model.load_state_dict(weights.state_dict())
    model.eval()
    names = pattern_names(model.config.n_layers)
    prompt_ids = run.tokenizer.encode(run.probe_prompt)[-model.config.context_length:]
    on_prompt = head_scores(model.trace(prompt_ids, names=names))
    on_repeats = head_scores(model.trace(run.detector_probe, names=names))
    return {**on_prompt, "induction": on_repeats["induction"]}


def test_the_detector_curves_are_cores_scores_of_each_kept_step(qtbot, studio):
    with qtbot.waitSignal(studio.run_ready, timeout=WAIT_MS):
        studio.set_up(RUN)
    with qtbot.waitSignal(studio.paused, timeout=WAIT_MS, check_params_cb=lambda step: step == RUN.max_steps):
        studio.train_steps(RUN.max_steps)

    run, plots = studio.run, studio.heads.detectors
    steps = studio.timeline.steps()
    assert steps == list(range(RUN.max_steps + 1)) and plots.steps == steps
    expected = {step: scores_by_hand(run, studio.timeline.get(step)) for step in steps}
    n_layers, n_heads = run.trainer.model.config.n_layers, run.trainer.model.config.n_heads
    for name in DETECTORS:
        assert len(plots.curves[name]) == n_layers * n_heads   # one curve per head
        for layer in range(n_layers):
            for head in range(n_heads):
                x, y = plots.curves[name][layer * n_heads + head].getData()
                assert list(x) == steps, (name, layer, head)
                by_hand = [expected[step][name][layer, head] for step in steps]
                np.testing.assert_allclose(y, by_hand, atol=1e-6, err_msg=f"{name} L{layer} H{head}")
    # The numbers move with training: the curves are not one flat line drawn from one set of weights.
    first, last = expected[steps[0]]["previous_token"], expected[steps[-1]]["previous_token"]
    assert not np.allclose(first, last)
