"""ClassFile files: everything a teacher prepared comes back, and a bad file says what is wrong."""

import json
import zipfile

import pytest
import torch

from core import GPT, GPTConfig
from core.files.class_file import ClassFile, ClassFileError, load_class_file, save_class_file
from core.tokenizers import CharTokenizer


@pytest.fixture()
def session():
    tokenizer = CharTokenizer.from_text("abcdefgh ")
    torch.manual_seed(3)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, context_length=16, d_model=16, n_layers=2, n_heads=2))
    timeline = tuple((step, {"transformer.wte.weight": torch.full((2, 2), float(step))}) for step in (0, 10, 20))
    return ClassFile(
        model,
        tokenizer,
        prompt="abc def",
        lesson=("02-forward-pass", "07-scores-and-scaling"),
        layer=1,
        head=1,
        layout=b"\x00\x01layout",
        geometry=b"geo",
        step=20,
        losses={"train": [[0, 2.5], [20, 1.5]]},
        timeline=timeline,
        settings={"temperature": 0.7},
    )


def test_a_saved_session_opens_to_the_same_state(tmp_path, session):
    path = save_class_file(tmp_path / "demo", session)
    assert path.name == "demo.attnlab"
    opened = load_class_file(path)
    assert (opened.prompt, opened.lesson, opened.layer, opened.head) == (
        "abc def",
        ("02-forward-pass", "07-scores-and-scaling"),
        1,
        1,
    )
    assert (opened.layout, opened.geometry, opened.step, opened.settings) == (
        b"\x00\x01layout",
        b"geo",
        20,
        {"temperature": 0.7},
    )
    assert opened.losses == session.losses
    assert opened.tokenizer.encode("abc def") == session.tokenizer.encode("abc def")
    for (name, saved), (_, reopened) in zip(session.model.state_dict().items(), opened.model.state_dict().items()):
        assert torch.equal(saved, reopened), name
    assert [step for step, _ in opened.timeline] == [0, 10, 20]
    assert torch.equal(opened.timeline[2][1]["transformer.wte.weight"], torch.full((2, 2), 20.0))


def test_bad_files_raise_session_errors(tmp_path, session):
    not_zip = tmp_path / "x.attnlab"
    not_zip.write_text("hello")
    with pytest.raises(ClassFileError, match="not a zip"):
        load_class_file(not_zip)
    path = save_class_file(tmp_path / "demo.attnlab", session)
    broken = tmp_path / "broken.attnlab"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "session.json":
                description = json.loads(data)
                description["layer"] = "one"
                data = json.dumps(description).encode()
            if item.filename != "checkpoint/model.safetensors":
                target.writestr(item, data)
    with pytest.raises(ClassFileError, match="bad 'layer'"):
        load_class_file(broken)


def test_a_timeline_of_training_snapshots_with_a_tied_output_matrix_round_trips(tmp_path, session):
    """Trainer snapshots are read-only arrays, and a tied output matrix is the embedding's own array."""
    import numpy as np
    from dataclasses import replace

    from training_helpers import tiny_trainer

    trainer = tiny_trainer()
    snapshots = [trainer.snapshot()]
    list(trainer.run(2))
    snapshots.append(trainer.snapshot())
    assert snapshots[0].tensors["lm_head.weight"] is snapshots[0].tensors["transformer.wte.weight"]
    timeline = tuple((snapshot.step, dict(snapshot.tensors)) for snapshot in snapshots)
    trained = replace(session, model=trainer.model, tokenizer=trainer.tokenizer, timeline=timeline)

    opened = load_class_file(save_class_file(tmp_path / "trained", trained))
    assert [step for step, _ in opened.timeline] == [0, 2]
    for (_, saved), (_, reopened) in zip(timeline, opened.timeline):
        assert set(reopened) == set(saved)
        for name, array in saved.items():
            assert np.array_equal(reopened[name].numpy(), array), name
        assert reopened["lm_head.weight"] is reopened["transformer.wte.weight"]  # tied again
