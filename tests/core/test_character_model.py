"""The shipped character model: small, loadable, covers the sample prompts, and has readable heads."""

import numpy as np
import torch

from core.files.checkpoint import load_checkpoint
from core.training.corpora import sample_prompts
from core.teaching.detectors import head_scores, pattern_names
from core.files.shipped_models import CHARACTER_MODEL_FOLDER


def _scores(checkpoint, text):
    ids = torch.tensor([checkpoint.tokenizer.encode(text)])
    return head_scores(checkpoint.model.trace(ids, names=pattern_names(checkpoint.model.config.n_layers)))


def test_it_is_small_and_loads_with_its_tokenizer():
    assert sum(f.stat().st_size for f in CHARACTER_MODEL_FOLDER.iterdir()) <= 10 * 2**20
    checkpoint = load_checkpoint(CHARACTER_MODEL_FOLDER)
    assert checkpoint.tokenizer.kind == "char" and checkpoint.optimizer_state is None
    assert checkpoint.step == 1500 and checkpoint.losses["val"][-1][1] < 1.6
    for prompt in sample_prompts():  # every sample prompt can be shown
        assert checkpoint.tokenizer.decode(checkpoint.tokenizer.encode(prompt)) == prompt


def test_it_has_a_previous_token_head_and_an_induction_head():
    checkpoint = load_checkpoint(CHARACTER_MODEL_FOLDER)
    previous = [_scores(checkpoint, prompt)["previous_token"].max() for prompt in sample_prompts()]
    assert np.median(previous) > 0.45  # about half of a head's attention on the character just before
    induction = _scores(checkpoint, "qmzbtkwy qmzbtkwy ")["induction"]
    best_layer, _ = np.unravel_index(induction.argmax(), induction.shape)
    assert induction.max() > 0.5 and best_layer >= 1  # it needs a previous-token head below it
