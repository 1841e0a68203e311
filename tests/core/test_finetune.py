"""Fine-tuning a loaded pretrained model: `attention-lab-train --init-from`, and core/finetune underneath."""

import json

import numpy as np
import pytest
import torch

from core.training import finetune
from core.files.checkpoint import load_checkpoint, save_trainer
from core.training.dataset import TokenDataset
from core.training.finetune import check_training_fits, load_model_to_finetune, trainable_copy
from core.files.pretrained import load_pretrained
from core.training.train import main
from core.training.trainer import Trainer, TrainConfig
from pretrained_helpers import mixed_strings, save_family
from training_helpers import one_thread  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")
REPEATED = "the cat sat on the mat. attention is all you need. " * 60  # one sentence pair, again and again
STEPS = 12


@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory):
    """A tiny Llama-shaped folder (grouped-query heads, RMSNorm, SwiGLU, RoPE) saved by transformers."""
    folder = tmp_path_factory.mktemp("llama")
    save_family("llama", folder)
    return folder


def logits_of(model, ids):
    with torch.no_grad():
        logits, _ = model.eval()(torch.tensor([ids]))
    return logits


def test_the_cli_fine_tunes_a_pretrained_folder_and_saves_a_checkpoint_that_reopens(llama_folder, tmp_path, capsys):
    corpus = tmp_path / "mine.txt"
    corpus.write_text(REPEATED, encoding="utf-8")
    out = tmp_path / "run"
    code = main(
        [
            str(corpus),
            "--init-from",
            str(llama_folder),
            "--context-length",
            "16",
            "--batch-size",
            "4",
            "--lr",
            "3e-3",
            "--warmup",
            "2",
            "--steps",
            str(STEPS),
            "--eval-interval",
            "0",
            "--eval-batches",
            "2",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["steps"] == STEPS

    original, original_tokenizer = load_pretrained(llama_folder)
    checkpoint = load_checkpoint(out)
    assert checkpoint.config == original.config  # the architecture as it was, 32-token context included
    assert checkpoint.train_config.context_length == 16
    for text in mixed_strings(50):
        assert checkpoint.tokenizer.encode(text) == original_tokenizer.encode(text)
    ids = original_tokenizer.encode(REPEATED[:60])
    loss_before = _loss(original, ids)
    loss_after = _loss(checkpoint.model, ids)
    assert loss_after < loss_before  # it learnt the repeated text


def _loss(model, ids):
    with torch.no_grad():
        _, loss = model.eval()(torch.tensor([ids[:-1]]), torch.tensor([ids[1:]]))
    return loss.item()


def test_loss_goes_down_and_the_saved_checkpoint_gives_the_trained_models_logits(llama_folder, tmp_path):
    model, tokenizer = load_model_to_finetune(llama_folder)
    tokens = np.array(tokenizer.encode(REPEATED), dtype=np.int64)
    config = TrainConfig(
        learning_rate=3e-3,
        min_lr=3e-4,
        warmup_steps=2,
        max_steps=STEPS,
        batch_size=4,
        context_length=16,
        eval_interval=0,
        sample_interval=0,
        snapshot_interval=0,
        seed=3,
    )
    trainer = Trainer(model, TokenDataset(tokens, 0.0), config, tokenizer)
    losses = [record.loss for record in trainer.run()]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])

    save_trainer(tmp_path / "saved", trainer)
    reopened = load_checkpoint(tmp_path / "saved")
    ids = tokenizer.encode("the cat sat on the mat. attention")
    assert reopened.tokenizer.encode("the cat sat on the mat. attention") == ids
    torch.testing.assert_close(logits_of(reopened.model, ids), logits_of(trainer.model, ids), rtol=0, atol=1e-6)

    # ... and a checkpoint of ours can be the starting point of the next fine-tune
    again, again_tokenizer = load_model_to_finetune(tmp_path / "saved")
    torch.testing.assert_close(logits_of(again, ids), logits_of(trainer.model, ids), rtol=0, atol=1e-6)
    assert again_tokenizer.encode("naïve café 東京") == tokenizer.encode("naïve café 東京")


def test_a_trainable_copy_leaves_the_original_untouched(llama_folder):
    model, _ = load_pretrained(llama_folder)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    copy = trainable_copy(model)
    with torch.no_grad():
        for parameter in copy.parameters():
            parameter.add_(1.0)
    assert copy.lm_head.weight is copy.transformer.wte.weight  # still tied
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_a_model_whose_training_does_not_fit_memory_is_refused_with_a_sentence(
    llama_folder, tmp_path, monkeypatch, capsys
):
    model, _ = load_pretrained(llama_folder)
    weights = 4 * model.num_params()
    monkeypatch.setattr(finetune, "available_memory_bytes", lambda: 8 * weights)  # 10% of it kept spare
    check_training_fits(model, "the tiny model", weights_loaded=True)  # 7 more copies fit; 8 (a copy first) do not
    with pytest.raises(ValueError, match=r"Fine-tuning the tiny model needs about .* \(8x its .* of float32 weights"):
        check_training_fits(model, "the tiny model", weights_loaded=False)
    monkeypatch.setattr(finetune, "available_memory_bytes", lambda: weights)
    corpus = tmp_path / "mine.txt"
    corpus.write_text(REPEATED, encoding="utf-8")
    code = main([str(corpus), "--init-from", str(llama_folder), "--steps", "1", "--quiet"])
    assert code == 2 and "needs about" in capsys.readouterr().err


def test_a_folder_that_is_no_model_and_resume_with_init_from_are_sentences(llama_folder, tmp_path, capsys):
    corpus = tmp_path / "mine.txt"
    corpus.write_text(REPEATED, encoding="utf-8")
    assert main([str(corpus), "--init-from", str(tmp_path), "--quiet"]) == 2
    assert "neither a checkpoint of ours" in capsys.readouterr().err
    assert main([str(corpus), "--init-from", str(llama_folder), "--resume", str(tmp_path), "--quiet"]) == 2
    assert "use one" in capsys.readouterr().err


def test_samples_leave_out_ids_the_tokenizer_does_not_have():
    """Qwen2.5 has more token vectors than tokens; a sample that picks one of the extra ids still reads."""
    from core.model.config import GPTConfig
    from core.model.model import GPT
    from core.tokenizers import CharTokenizer

    tokenizer = CharTokenizer("ab")
    model = GPT(GPTConfig(vocab_size=50, context_length=8, d_model=8, n_layers=1, n_heads=2))
    with torch.no_grad():
        model.lm_head.weight[2:].add_(5.0)  # the ids beyond the tokenizer's 2 are the likely ones
    config = TrainConfig(
        max_steps=1, batch_size=2, context_length=4, eval_interval=0, sample_interval=0, snapshot_interval=0
    )
    trainer = Trainer(model, TokenDataset(np.array([0, 1] * 20, dtype=np.int64), 0.0), config, tokenizer)
    assert set(trainer.sample_text(length=20)) <= {"a", "b"}
