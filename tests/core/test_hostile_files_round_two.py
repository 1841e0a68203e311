"""Hostile files, round two (issue 13): a small file declares something huge. Each case from the issue is
opened in a child process under a memory cap (tests/hostile_child.py): it must be refused with a sentence
naming the file and the problem, or open within the cap, and never crash or hang. Then the pieces the
refusals rest on: the footprint, the merge bounds, BPE training's bookkeeping, the NaN check.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core import GPT, GPTConfig
from core.model.footprint import MAX_LAYERS, check_model_fits, model_footprint_bytes, trace_bytes
from core.tokenizers import BPETokenizer
from core.tokenizers.bpe_training import count_words, merge_in_word, merge_pair, train_merges
from core.tokenizers.pretokenize import MAX_WORD_BYTES
from core.files.weights_check import check_finite
from hostile_round_two import CASES, chain_merges, doubling_merges

TESTS = Path(__file__).resolve().parent.parent
HANG_GUARD_S = 600  # only so that a hang fails the test instead of the run; nothing here is timed
CAP_MIB = 1536


def open_in_child(opener: str, path: Path) -> dict:
    environment = {"PYTHONPATH": f"{TESTS.parent}{':'}{TESTS}", "PATH": "/usr/bin:/bin", "HOME": str(path.parent)}
    try:
        done = subprocess.run(
            [sys.executable, str(TESTS / "hostile_child.py"), opener, str(path), str(CAP_MIB)],
            capture_output=True,
            text=True,
            timeout=HANG_GUARD_S,
            env=environment,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"opening {path.name} as {opener} hung", pytrace=False)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, f"the child died (status {done.returncode}): {done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    return json.loads(lines[-1])


def names_the_file(message: str, path: Path) -> bool:
    names = [path.name, *(child.name for child in path.iterdir())] if path.is_dir() else [path.name]
    return any(name in message for name in names)


@pytest.mark.skipif(sys.platform != "linux", reason="the memory cap and the special files are Linux's")
@pytest.mark.parametrize("case", CASES)
def test_a_file_declaring_too_much_is_refused_or_opens_within_the_cap(tmp_path, case):
    make, words, may_open = CASES[case]
    opener, path = make(tmp_path)
    result = open_in_child(opener, path)
    message = result["message"]
    assert result["outcome"] != "crashed", message
    if result["outcome"] == "opened":
        assert may_open, f"{case} opened, but it must be refused: {message}"
    else:
        assert names_the_file(message, path), f"the file is not named in {message!r}"
        missing = [word for word in words if word.lower() not in message.lower()]
        assert not missing, f"{missing} not in {message!r}"
    assert result["peak_mib"] < CAP_MIB


# -- the footprint ----------------------------------------------------------------------------------
def test_the_trace_estimate_is_what_a_trace_records():
    config = GPTConfig(vocab_size=50, context_length=16, d_model=32, n_layers=2, n_heads=4)
    trace = GPT(config).trace(torch.zeros(1, 16, dtype=torch.long))
    recorded = sum(trace[name].numel() * trace[name].element_size() for name in trace)
    assert recorded == trace_bytes(config, 16)


def test_the_footprint_counts_the_weights_and_buffers_the_model_has():
    config = GPTConfig(vocab_size=50, context_length=16, d_model=32, n_layers=2, n_heads=4)
    model = GPT(config)
    tensors = {id(t): t for t in (*model.parameters(), *model.buffers())}
    weights = sum(t.numel() * t.element_size() for t in tensors.values())
    assert model_footprint_bytes(config, 8) - trace_bytes(config, 8) >= weights


def test_a_billion_layers_are_refused_by_arithmetic_before_anything_is_built(monkeypatch):
    import core.model.model

    monkeypatch.setattr(core.model.model, "GPT", lambda config: pytest.fail("a model was built"))
    with pytest.raises(ValueError, match=f"{10**9:,} layers.*{MAX_LAYERS:,}"):
        check_model_fits(GPTConfig(n_layers=10**9, d_model=8, n_heads=2), "the test model")


def test_a_model_larger_than_free_memory_is_refused_with_both_numbers(monkeypatch):
    import core.model.footprint

    monkeypatch.setattr(core.model.footprint, "available_memory_bytes", lambda: 9 * 10**9)
    config = GPTConfig(vocab_size=50_000, context_length=1024, d_model=4096, n_layers=48, n_heads=32)
    with pytest.raises(ValueError, match=r"the test model needs about [\d.]+ GB of memory; this machine has 9.0 GB"):
        check_model_fits(config, "the test model")


# -- BPE: merges from a file, and training on a very long word -------------------------------------
@pytest.mark.parametrize("merges", [doubling_merges(40), chain_merges(100_000)], ids=["doubling", "chain"])
def test_merges_that_spell_huge_tokens_are_refused_before_any_is_built(merges):
    with pytest.raises(ValueError, match=r"Merge \d+ makes a token of [\d,]+ bytes"):
        BPETokenizer(merges)


def test_a_long_word_is_trained_on_in_pieces():
    word = "ACGT" * (MAX_WORD_BYTES // 2)
    assert count_words(word) == {("ACGT" * (MAX_WORD_BYTES // 4)).encode("ascii"): 2}


def test_merging_reports_exactly_the_pairs_that_changed():
    rng = random.Random(1)
    for _ in range(300):
        ids = [rng.choice([1, 2, 3]) for _ in range(rng.randrange(0, 30))]
        pair = (rng.choice([1, 2, 3]), rng.choice([1, 2, 3]))
        merged, gone, appeared = merge_in_word(ids, pair, 9)
        assert merged == merge_pair(ids, pair, 9)
        before, after = _pair_counts(ids), _pair_counts(merged)
        for p in set(before) | set(after):
            assert after.get(p, 0) - before.get(p, 0) == appeared.count(p) - gone.count(p), (ids, pair, p)


def _pair_counts(ids):
    counts = {}
    for p in zip(ids, ids[1:]):
        counts[p] = counts.get(p, 0) + 1
    return counts


def test_training_reports_progress_after_every_merge():
    calls = []
    merges = train_merges("ACGTTGCA" * 2000, 300, progress=lambda done, wanted: calls.append((done, wanted)))
    assert calls == [(i, 44) for i in range(1, len(merges) + 1)] and merges


# -- weights that are not numbers ----------------------------------------------------------------------
def test_a_nan_is_refused_naming_the_tensor():
    tensors = {"a.weight": torch.ones(3), "b.bias": torch.tensor([1.0, float("nan"), float("nan")])}
    with pytest.raises(ValueError, match=r"model.safetensors: the weight 'b.bias' holds 2 NaN value\(s\)"):
        check_finite(tensors, "model.safetensors")
    check_finite({"ids": torch.tensor([1, 2])}, "integers are not weights")


def test_a_config_json_of_gigabytes_is_refused_unread(tmp_path):
    from core.files.gpt2 import load_gpt2
    from hostile_files import write_gpt2_folder

    folder = write_gpt2_folder(tmp_path / "gpt2")
    with open(folder / "config.json", "r+b") as file:
        file.truncate(2**40)  # sparse: a terabyte that takes no disk
    with pytest.raises(ValueError, match=r"config.json is 1,099,511,627,776 bytes"):
        load_gpt2(folder)


def test_a_tokenizer_trained_on_one_letter_repeated_loads_back():
    """Each merge doubles the run's token; the pieces training cuts words into keep every token within
    what a saved tokenizer may hold, so the file it writes opens again."""
    tokenizer = BPETokenizer.train("a" * 100_000, 300)
    assert max(len(token) for token in tokenizer.vocab) == MAX_WORD_BYTES
    assert BPETokenizer.from_json(tokenizer.to_json()).encode("a" * 9000) == tokenizer.encode("a" * 9000)
