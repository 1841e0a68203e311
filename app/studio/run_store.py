"""Saving a training run so it can be resumed after the app restarts (and the autosave on close).

A run folder is a core checkpoint (weights, optimizer state, tokenizer, training settings, losses)
plus `studio.json`: the RunSetup (which corpus, so the same data can be rebuilt) and the probe prompt.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QStandardPaths

from app.settings import SETTINGS_PATH_VARIABLE
from core.files.checkpoint import CheckpointError, CheckpointSaveError, load_checkpoint, resume_trainer, save_trainer
from core.files.safe_write import explain_write_failure, write_atomically
from core.training.recipe import PreparedRun, corpus_text, detector_probe_for, tokenize_corpus
from core.training.run_setup import RunSetup
from core.training.trainer import Trainer

STUDIO_FILE = "studio.json"
STUDIO_FORMAT = 1


def default_autosave_folder() -> Path:
    """Beside the settings file when one is named (tests), else the platform's app-data folder."""
    settings_file = os.environ.get(SETTINGS_PATH_VARIABLE)
    if settings_file:
        base = Path(settings_file).resolve().parent
    else:
        base = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    return base / "autosaved-run"


def save_run(folder: str | Path, trainer: Trainer, setup: RunSetup, probe_prompt: str) -> Path:
    """Write the checkpoint, then studio.json (small; written after, so a half save still loads as a model).
    Raises ValueError with a sentence (disk full, folder not writable); the trainer is never changed."""
    folder = Path(folder)
    save_trainer(folder, trainer)
    studio = {
        "format": STUDIO_FORMAT,
        "setup": setup.to_dict(),
        "probe_prompt": probe_prompt,
        "step": trainer.step_count,
    }
    try:
        write_atomically(folder / STUDIO_FILE, json.dumps(studio, indent=1).encode("utf-8"))
    except OSError as error:
        raise CheckpointSaveError(explain_write_failure(error, folder, "the training run")) from error
    return folder


@dataclass(frozen=True)
class SavedRunInfo:
    setup: RunSetup
    probe_prompt: str
    step: int


def read_run_info(folder: str | Path) -> SavedRunInfo:
    """What studio.json says (ValueError with a sentence when it is missing or damaged)."""
    path = Path(folder) / STUDIO_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"{folder} holds no {STUDIO_FILE}: it is a model checkpoint, not a training run saved "
            "by the studio. Open it from the Model menu instead."
        ) from None
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} could not be read ({error}).") from None
    if not isinstance(data, dict) or data.get("format") != STUDIO_FORMAT or not isinstance(data.get("setup"), dict):
        raise ValueError(f"{path} is not a training run this version of the studio can resume.")
    try:
        setup = RunSetup.from_dict(data["setup"])
    except ValueError as error:
        raise ValueError(f"{path} holds run settings this studio cannot use: {error}") from None
    return SavedRunInfo(setup, str(data.get("probe_prompt", "")), int(data.get("step", 0)))


def resume_run(folder: str | Path) -> PreparedRun:
    """Rebuild the run: same corpus, the saved tokenizer, the saved weights and optimizer state."""
    info = read_run_info(folder)
    checkpoint = load_checkpoint(folder)
    if checkpoint.optimizer_state is None or checkpoint.train_config is None:
        raise CheckpointError(f"{folder} has no optimizer state, so its training cannot continue exactly.")
    text = corpus_text(info.setup)
    dataset = tokenize_corpus(info.setup, text, checkpoint.tokenizer)
    trainer = resume_trainer(checkpoint, dataset)
    return PreparedRun(
        info.setup,
        text,
        checkpoint.tokenizer,
        dataset.train,
        trainer,
        info.probe_prompt,
        detector_probe_for(dataset, checkpoint.tokenizer, info.setup),
    )
