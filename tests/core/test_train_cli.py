"""The command line: a run that saves, a JSON summary, a progress bar, each stop condition, resume."""

import json

import pytest

from core.files.checkpoint import load_checkpoint
from core.training.stories import generate_stories
from core.tokenizers import BPETokenizer
from core.training.train import main
from training_helpers import one_thread  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")
TINY_RUN = ["--preset", "nano", "--context-length", "16", "--batch-size", "4", "--eval-batches", "2", "--warmup", "2"]


def run_cli(capsys, *args):
    code = main([*args])
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    return code, (json.loads(lines[-1]) if code == 0 else None), captured


def test_a_run_saves_a_checkpoint_and_prints_one_line_of_json(tmp_path, capsys):
    code, summary, captured = run_cli(
        capsys, "lessons", *TINY_RUN, "--steps", "6", "--eval-interval", "3", "--out", str(tmp_path / "run")
    )
    assert code == 0 and len(captured.out.strip().splitlines()) == 1
    assert summary["steps"] == 6 and summary["stopped_because"] == "steps" and summary["processes"] == 1
    assert 0 < summary["train_loss"] < 6 and 0 < summary["val_loss"] < 6
    assert summary["tokens_per_second"] > 0 and summary["wall_seconds"] > 0
    final_bar = captured.err.replace("\r", "\n").strip().splitlines()[-1]  # tqdm's bar on stderr, as it ends
    assert "6/6" in final_bar and "loss=" in final_bar and "val=" in final_bar and "tokens/s=" in final_bar
    checkpoint = load_checkpoint(tmp_path / "run")
    assert checkpoint.step == 6 and checkpoint.model.config.n_layers == 2
    assert checkpoint.train_config.fast_step  # nothing charts per-part records here (tests/core/test_fast_step.py)
    assert checkpoint.losses["val"][-1] == [6, pytest.approx(summary["val_loss"], abs=1e-5)]


def test_explicit_sizes_positions_and_a_bpe_tokenizer(tmp_path, capsys):
    code, summary, _ = run_cli(
        capsys,
        "lessons",
        *TINY_RUN,
        "--n-layers",
        "1",
        "--d-model",
        "24",
        "--n-heads",
        "3",
        "--pos-encoding",
        "rope",
        "--activation",
        "gelu",
        "--tokenizer",
        "bpe",
        "--vocab-size",
        "300",
        "--steps",
        "2",
        "--quiet",
        "--no-save-optimizer",
        "--out",
        str(tmp_path / "bpe"),
    )
    assert code == 0
    config = load_checkpoint(tmp_path / "bpe").model.config
    assert (config.n_layers, config.d_model, config.d_mlp, config.n_heads) == (1, 24, 96, 3)
    assert config.pos_encoding == "rope" and config.activation == "gelu" and config.vocab_size == 300
    assert load_checkpoint(tmp_path / "bpe").optimizer_state is None  # --no-save-optimizer: weights only


def test_a_synthetic_task_trains_too(capsys):
    code, summary, _ = run_cli(capsys, "induction", *TINY_RUN, "--synthetic-examples", "200", "--steps", "3", "--quiet")
    assert code == 0 and summary["steps"] == 3 and summary["out"] is None


def test_the_stories_corpus_is_written_for_the_asked_count_and_seed(tmp_path, capsys):
    code, summary, _ = run_cli(
        capsys,
        "stories",
        *TINY_RUN,
        "--stories",
        "40",
        "--seed",
        "5",
        "--tokenizer",
        "bpe",
        "--vocab-size",
        "300",
        "--steps",
        "2",
        "--quiet",
        "--out",
        str(tmp_path / "stories"),
    )
    assert code == 0 and summary["steps"] == 2
    # the tokenizer was learned on exactly those 40 stories
    expected = BPETokenizer.train(generate_stories(40, seed=5), 300)
    assert load_checkpoint(tmp_path / "stories").tokenizer.merges == expected.merges


def test_stop_on_time_and_on_a_target_validation_loss(capsys):
    _, by_time, _ = run_cli(capsys, "lessons", *TINY_RUN, "--steps", "50", "--time", "0", "--quiet")
    assert by_time["stopped_because"] == "time" and by_time["steps"] == 1
    _, by_target, _ = run_cli(
        capsys, "lessons", *TINY_RUN, "--steps", "50", "--eval-interval", "2", "--target-val-loss", "99", "--quiet"
    )
    assert by_target["stopped_because"] == "target" and by_target["steps"] == 2


def test_resume_continues_the_saved_run(tmp_path, capsys):
    folder = str(tmp_path / "run")
    run_cli(capsys, "lessons", *TINY_RUN, "--steps", "4", "--quiet", "--out", folder)
    code, summary, _ = run_cli(capsys, "lessons", "--resume", folder, "--steps", "7", "--quiet")
    assert code == 0 and summary["steps"] == 7 and summary["steps_this_run"] == 3
    assert load_checkpoint(folder).step == 7


def test_muon_with_a_linear_decay_trains_saves_and_resumes(tmp_path, capsys):
    folder = str(tmp_path / "run")
    recipe = ["--optimizer", "muon", "--lr-decay", "linear", "--lr", "1e-2", "--quiet", "--out", folder]
    code, summary, _ = run_cli(capsys, "lessons", *TINY_RUN, "--steps", "12", *recipe)
    assert code == 0 and summary["val_loss"] < 4.0  # from ln(vocabulary) ~ 4.3 at the start
    saved = load_checkpoint(folder)
    assert (saved.train_config.optimizer, saved.train_config.lr_decay) == ("muon", "linear")
    assert any(key.startswith("muon.velocity.") for key in saved.optimizer_state)
    code, summary, _ = run_cli(capsys, "lessons", "--resume", folder, "--steps", "14", "--quiet")
    assert code == 0 and summary["steps_this_run"] == 2 and load_checkpoint(folder).train_config.optimizer == "muon"


def test_mistakes_are_explained_not_crashed(tmp_path, capsys):
    code, _, captured = run_cli(capsys, "no-such-corpus", *TINY_RUN, "--steps", "1")
    assert code == 2 and "neither a built-in corpus" in captured.err
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("too short")
    code, _, captured = run_cli(capsys, str(tiny), *TINY_RUN, "--steps", "1")
    assert code == 2 and "pick a longer text or a shorter context" in captured.err  # the studio says the same
    code, _, captured = run_cli(capsys, "lessons", *TINY_RUN, "--resume", str(tmp_path), "--steps", "1")
    assert code == 2 and "no meta.json" in captured.err
