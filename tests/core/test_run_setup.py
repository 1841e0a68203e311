"""The one recipe: RunSetup checks what it is given, and the CLI and the studio build the same run from it."""

import json

import numpy as np
import pytest
import torch

from core.model.positional import sinusoidal_table
from core.training.recipe import build_model, build_tokenizer, prepare_run, reads_the_same_text
from core.training.run_setup import RunSetup, with_task_recipe
from core.training.synthetic import SYNTHETIC_TASKS
from core.training.train import build_parser, run_setup


def test_settings_round_trip_through_json():
    setup = with_task_recipe(RunSetup(corpus_name="induction", seed=3, bf16=True))
    assert RunSetup.from_dict(json.loads(json.dumps(setup.to_dict()))) == setup


def test_missing_settings_take_their_defaults_and_whole_numbers_are_taken_as_numbers():
    setup = RunSetup.from_dict({"learning_rate": 1, "batch_size": 8})
    assert setup.learning_rate == 1.0 and isinstance(setup.learning_rate, float)
    assert setup.batch_size == 8 and setup.max_steps == RunSetup().max_steps


@pytest.mark.parametrize(
    "name, value, sentence",
    [
        ("batch_size", "32", "The run setting batch_size must be a whole number, but it is '32'."),
        ("batch_size", 32.5, "The run setting batch_size must be a whole number, but it is 32.5."),
        ("seed", True, "The run setting seed must be a whole number, but it is True."),
        ("learning_rate", "fast", "The run setting learning_rate must be a number, but it is 'fast'."),
        ("learning_rate", None, "The run setting learning_rate must be a number, but it is None."),
        ("dropout", float("nan"), "The run setting dropout must be a number, but it is nan."),
        ("bf16", 1, "The run setting bf16 must be true or false, but it is 1."),
        ("corpus_name", ["lessons"], "The run setting corpus_name must be a text, but it is ['lessons']."),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_with_a_sentence(name, value, sentence):
    with pytest.raises(ValueError) as refused:
        RunSetup.from_dict({name: value})
    assert str(refused.value) == sentence


def test_unknown_names_and_values_that_are_not_a_table_are_refused():
    with pytest.raises(ValueError, match="Unknown run settings: colour."):
        RunSetup.from_dict({"colour": "blue"})
    with pytest.raises(ValueError, match="must be a table of names and values"):
        RunSetup.from_dict(["batch_size", 8])
    with pytest.raises(ValueError, match="Unknown positional encoding 'spiral'"):
        RunSetup.from_dict({"pos_encoding": "spiral"})
    with pytest.raises(ValueError, match="Unknown optimizer 'sgd'; use one of adamw, muon."):
        RunSetup.from_dict({"optimizer": "sgd"})
    with pytest.raises(ValueError, match="Unknown learning-rate decay 'step'; use one of cosine, linear."):
        RunSetup.from_dict({"lr_decay": "step"})
    chosen = RunSetup.from_dict({"optimizer": "muon", "lr_decay": "linear"}).train_config()
    assert (chosen.optimizer, chosen.lr_decay) == ("muon", "linear")
    assert (RunSetup().optimizer, RunSetup().lr_decay) == ("adamw", "cosine")  # the studio's default


def test_a_synthetic_task_tokenizer_knows_the_whole_alphabet_of_the_task():
    task = SYNTHETIC_TASKS["induction"]
    tokenizer = build_tokenizer(RunSetup(corpus_kind="synthetic", corpus_name="induction"), "ab\n")
    assert set(tokenizer.decode(list(range(tokenizer.vocab_size)))) == set(task.symbols)


def test_the_command_line_and_the_studio_build_the_same_run():
    args = build_parser().parse_args(
        [
            "induction",
            "--preset",
            "nano",
            "--n-layers",
            "3",
            "--context-length",
            "16",
            "--batch-size",
            "4",
            "--lr",
            "2e-3",
            "--seed",
            "5",
            "--pos-encoding",
            "rope",
            "--synthetic-examples",
            "4000",
        ]
    )
    from_cli = run_setup(args)
    studio = RunSetup(
        corpus_kind="synthetic",
        corpus_name="induction",
        model_preset="custom",
        n_layers=3,
        n_heads=2,
        d_model=32,
        context_length=16,
        batch_size=4,
        learning_rate=2e-3,
        seed=5,
    )
    cli_run, studio_run = prepare_run(from_cli), prepare_run(studio)
    assert cli_run.tokenizer.encode("abc\n") == studio_run.tokenizer.encode("abc\n")
    assert cli_run.model.config == studio_run.model.config
    for (name, ours), theirs in zip(cli_run.model.state_dict().items(), studio_run.model.state_dict().values()):
        assert torch.equal(ours, theirs), name  # the same seed, the same start
    assert np.array_equal(cli_run.tokens, studio_run.tokens)  # the same text, cut the same way


def test_a_run_reuses_the_text_of_the_last_one_only_when_it_would_read_the_same():
    task = RunSetup(corpus_kind="synthetic", corpus_name="induction", seed=1)
    assert reads_the_same_text(task, task.with_changes(learning_rate=1e-2, n_layers=3))
    assert not reads_the_same_text(task, task.with_changes(seed=2))  # other examples
    assert not reads_the_same_text(task, task.with_changes(task_length=9))
    stories = RunSetup(corpus_kind="builtin", corpus_name="stories", seed=1)
    assert not reads_the_same_text(stories, stories.with_changes(seed=2))  # other stories
    assert not reads_the_same_text(stories, stories.with_changes(stories=50))
    lessons = RunSetup(corpus_kind="builtin", corpus_name="lessons", seed=1)
    assert reads_the_same_text(lessons, lessons.with_changes(seed=2))  # a fixed text
    assert not reads_the_same_text(lessons, lessons.with_changes(tokenizer="bpe"))


def test_learned_positions_can_start_as_waves_and_the_command_line_says_so():
    """The waves are the original Transformer's sines and cosines, scaled to the token vectors' size;
    random is the default, and only a learned table can start as waves."""
    args = build_parser().parse_args(["lessons", "--pos-encoding", "learned", "--position-start", "sinusoidal"])
    setup = run_setup(args)
    assert setup.position_start == "sinusoidal"
    model = build_model(setup, vocab_size=50)
    positions = model.transformer.wpe.weight.detach()  # (context, C)
    waves = sinusoidal_table(setup.context_length, model.config.d_model)
    assert torch.allclose(positions, waves * (0.02 / waves.std()))
    assert abs(positions.std().item() - model.transformer.wte.weight.std().item()) < 0.002
    random_start = build_model(setup.with_changes(position_start="random"), vocab_size=50)
    assert not torch.allclose(random_start.transformer.wpe.weight, positions)
    with pytest.raises(ValueError, match="Only learned positions"):
        RunSetup(pos_encoding="rope", position_start="sinusoidal")
    with pytest.raises(ValueError, match="Unknown position start"):
        RunSetup(position_start="waves")
