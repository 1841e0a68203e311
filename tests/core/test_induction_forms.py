"""An induction head forms when a 2-layer model trains on the induction task (and is absent before).

The task: random letters written twice ("qmzbt" + "qmzbt"), 7 to 14 letters, no letter twice in a
copy. Only an induction head predicts the second copy: look up where the current letter occurred
before and copy the letter that followed it.

Measured by core.teaching.detectors on probes of random letters shown twice with three different periods
(8, 10, 13 letters). A head that merely looks a fixed distance back (a positional head) can score on
one period only; an induction head scores on all three, so the test takes the smallest of the three.

Threshold 0.5: at least half of the attention of every second-copy token lands on the one key the
induction rule picks among ~10-25 visible keys. Before training, attention is spread evenly over the
past, so the score is about 1/(position + 1) ≈ 0.05-0.09 (asserted below 0.15).

The recipe (d_model 64, 2 heads, batch 64, lr 3e-3 without decay or clipping) is the studio's own
(TASK_RECIPES in core/training/run_setup.py, built by core/training/recipe.py), imported here so the two
cannot drift apart. It was chosen from sweeps on this machine: the score stays near chance, then jumps
within ~100 steps (the "phase change" of Olsson et al. 2022); on 2,500 examples, seeds 1, 2, 3 passed 0.5
at steps ~480, 300 and ~280 and ended at 0.84-0.88 (min over the three periods). Seed 2 is used; on the
studio's 4,000 examples it is past the threshold at step 450 too. Smaller models or batches, or the
task's default length 12, had formed no induction head by step 800. 450 steps take ~17 s here with one
torch thread.
"""

import numpy as np

from core.teaching.detectors import head_scores, induction_probe, pattern_names
from core.training.recipe import prepare_run
from core.training.run_setup import RunSetup, with_task_recipe

STEPS = 450
THRESHOLD = 0.5
PERIODS = (8, 10, 13)


def induction_scores(model, probes) -> list[float]:
    """The best layer-1 head's induction score on each probe (layer 0 cannot do induction: it needs
    the previous-token information that a layer-0 head writes first)."""
    scores = []
    for probe in probes:
        trace = model.trace(probe, names=pattern_names(model.config.n_layers))
        scores.append(float(head_scores(trace)["induction"][1].max()))
    return scores


def test_an_induction_head_forms_on_the_induction_task():
    # The studio's own recipe for the task (what picking "induction" in the set-up panel applies), built
    # by the same prepare_run; only what is measured along the way is switched off.
    setup = with_task_recipe(RunSetup(corpus_kind="synthetic", corpus_name="induction", seed=2))
    run = prepare_run(setup.with_changes(val_fraction=0.0, eval_interval=0, sample_interval=0, snapshot_interval=0))
    model, tokenizer, trainer = run.model, run.tokenizer, run.trainer
    letters = tokenizer.encode("abcdefghijklmnopqrstuvwxyz")
    probes = [induction_probe(tokenizer.vocab_size, period, seed=100, batch=8, token_ids=letters) for period in PERIODS]

    before = induction_scores(model, probes)
    assert max(before) < 0.15, before

    losses = [record.loss for record in trainer.run(STEPS)]
    after = induction_scores(model, probes)
    assert min(after) > THRESHOLD, after
    # The head is what lowers the loss: the second copy becomes predictable (ln 26 ≈ 3.26 before).
    assert np.mean(losses[-20:]) < np.mean(losses[:20]) - 0.5
