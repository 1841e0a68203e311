"""The classic patching examples: copying runs on the default model out of the box, and the
indirect-object example runs on any model whose tokenizer reads the names as one token each (GPT-2's
weights are not here offline, so its logic is checked on a tiny model with such a tokenizer)."""

import numpy as np
import pytest

from core.explain.examples import COPYING, EXAMPLES, INDIRECT_OBJECT, example_pair
from core.explain.patching import run_patched, sweep_heads
from core.files.checkpoint import load_checkpoint
from core.files.shipped_models import DEFAULT_MODEL_FOLDER
from core.tokenizers import BPETokenizer
from explain_models import tiny_model


def test_copying_finds_the_default_models_induction_heads():
    checkpoint = load_checkpoint(DEFAULT_MODEL_FOLDER)
    pair = example_pair(checkpoint.model, checkpoint.tokenizer, COPYING)
    scores = sweep_heads(checkpoint.model, pair).scores  # (4, 4)
    layer, head = np.unravel_index(np.argmax(scores), scores.shape)
    assert (layer, head) == (1, 3) and scores[1, 3] > 0.8, scores.round(2)  # the induction head


def test_the_default_tokenizer_cannot_line_up_the_indirect_object_prompts():
    checkpoint = load_checkpoint(DEFAULT_MODEL_FOLDER)
    with pytest.raises(ValueError, match="same count.*pad_to_same_length"):
        example_pair(checkpoint.model, checkpoint.tokenizer, INDIRECT_OBJECT)


def test_the_indirect_object_example_runs_where_names_are_one_token():
    text = " ".join(example.clean + " " + example.corrupted + example.answer + example.wrong for example in EXAMPLES)
    tokenizer = BPETokenizer.train(text * 20, vocab_size=300)
    clean, corrupted, mary, john = INDIRECT_OBJECT.token_ids(tokenizer)
    assert len(clean) == len(corrupted) and tokenizer.decode([mary]) == " Mary" and tokenizer.decode([john]) == " John"
    model = tiny_model("gpt2", vocab_size=tokenizer.vocab_size, context_length=64)
    pair = example_pair(model, tokenizer, INDIRECT_OBJECT)
    assert (pair.answer, pair.wrong) == (mary, john)
    assert pair.normalised(run_patched(model, pair, residual=[(0, p) for p in range(len(clean))])) == pytest.approx(
        1, abs=1e-4
    )
    assert sweep_heads(model, pair).scores.shape == (3, 4)
