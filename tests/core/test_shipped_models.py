"""The probes of core.files.shipped_models on a small untrained model: what they return, worked out by hand."""

import torch

from core import GPT, GPTConfig
from core.teaching.detectors import repeat_period
from core.files.shipped_models import (
    CHARACTER_MODEL_FOLDER,
    DEFAULT_MODEL_FOLDER,
    LEARNED_POSITIONS_MODEL_FOLDER,
    common_word_probe,
    continue_greedily,
    top_next_tokens,
)
from core.training.stories import generate_stories
from core.tokenizers import BPETokenizer

STORIES = generate_stories(40, seed=0)
TOKENIZER = BPETokenizer.train(STORIES, 400)


def _model():
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=TOKENIZER.vocab_size, context_length=32, d_model=16, n_layers=1, n_heads=2)).eval()


def test_every_shipped_model_has_a_folder_with_a_readme():
    for folder in (DEFAULT_MODEL_FOLDER, LEARNED_POSITIONS_MODEL_FOLDER, CHARACTER_MODEL_FOLDER):
        assert (folder / "README.md").is_file() and (folder / "model.safetensors").is_file()


def test_the_learned_positions_model_is_the_default_models_twin_with_positions_added():
    from core.files.checkpoint import load_checkpoint

    twin, default = load_checkpoint(LEARNED_POSITIONS_MODEL_FOLDER), load_checkpoint(DEFAULT_MODEL_FOLDER)
    assert twin.config.pos_encoding == "learned" and default.config.pos_encoding == "rope"
    assert twin.tokenizer.encode("Anna met Ben at the park.") == default.tokenizer.encode("Anna met Ben at the park.")
    assert [twin.config.n_layers, twin.config.n_heads, twin.config.d_model] == [4, 4, 128]


def test_top_next_tokens_are_the_softmax_of_the_last_logits_likeliest_first():
    model = _model()
    prompt = "Anna met Ben. Then Anna"
    best = top_next_tokens(model, TOKENIZER, prompt, k=3)
    with torch.no_grad():
        logits, _ = model(torch.tensor([TOKENIZER.encode(prompt)]))
    probs = torch.softmax(logits[0, -1], dim=-1)
    expected = probs.argsort(descending=True)[:3]
    assert [token for token, _ in best] == [TOKENIZER.decode([int(i)]) for i in expected]
    assert [p for _, p in best] == [float(probs[i]) for i in expected]


def test_a_greedy_continuation_takes_the_likeliest_token_each_time():
    model = _model()
    first = top_next_tokens(model, TOKENIZER, "The cat", k=1)[0][0]
    more = continue_greedily(model, TOKENIZER, "The cat", 2)
    assert more.startswith(first) and more == continue_greedily(model, TOKENIZER, "The cat", 2)
    assert top_next_tokens(model, TOKENIZER, "The cat" + first, k=1)[0][0] == more[len(first) :]


def test_the_common_word_probe_repeats_common_whole_words():
    probe = common_word_probe(TOKENIZER, STORIES, length=10, batch=3)
    assert probe.shape == (3, 20) and repeat_period(probe) == 10
    pieces = {TOKENIZER.decode([int(i)]) for i in probe.flatten()}
    assert all(piece.startswith(" ") and piece[1:].isalpha() and len(piece) > 2 for piece in pieces)
    assert " the" in {TOKENIZER.decode([int(i)]) for i in common_word_probe(TOKENIZER, STORIES, length=60, batch=1)[0]}
