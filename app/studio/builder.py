"""Building a run off the GUI thread (reading a big file or training BPE can take seconds).

    builder = RunBuilder(lambda progress: prepare_run(setup, progress=progress))
    builder.built.connect(...); builder.failed.connect(...); builder.start()

Anything a user can get wrong surfaces as `failed(sentence)`; the run that was there stays untouched.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QThread, Signal

from core.training.dataset import TokenDataset
from core.training.trainer import Trainer

from core.training.finetune import trainable_copy

from core.training.recipe import StartingModel, build_model, setup_for_finetuning

PROGRESS_INTERVAL_S = 0.05  # BPE reports every merge; the GUI needs ~20 updates a second at most


class RunBuilder(QThread):
    built = Signal(object)  # PreparedRun
    failed = Signal(str)  # a sentence for the user
    progress = Signal(int, int)  # (merges learned, merges wanted) while BPE trains

    def __init__(self, make: Callable[[Callable[[int, int], None]], object], parent=None) -> None:
        super().__init__(parent)
        self._make = make
        self._last_progress = 0.0
        self.delivered = False  # built or failed was sent: what is left of the thread is returning

    def run(self) -> None:
        make, self._make = self._make, None  # run once; the closure (and any run it reuses) is not kept
        try:
            result = make(self._report)
        except (ValueError, OSError) as problem:  # CorpusError, CheckpointError: all ValueErrors
            self.delivered = True
            self.failed.emit(str(problem))
            return
        except Exception as problem:  # a bug must not take the window down; say what happened
            traceback.print_exc()
            self.delivered = True
            self.failed.emit(f"Setting up the run failed unexpectedly: {problem}")
            return
        self.delivered = True
        self.built.emit(result)

    def _report(self, done: int, wanted: int) -> None:
        now = time.perf_counter()
        if done >= wanted or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self.progress.emit(done, wanted)


def measure_steps_per_second(setup, steps: int = 3, start: StartingModel | None = None) -> float:
    """Time a few steps of this model size on random tokens (after one untimed warm-up step); a fine-tune
    (setup.start_from "screen") times a copy of `start`.

    Speed depends on the sizes, the batch and the context, not on what the text says, so no corpus
    has to be read and no BPE trained to estimate it.
    """
    if setup.start_from == "screen":
        setup = setup_for_finetuning(setup, start)
        model, vocab_size = trainable_copy(start.model), start.model.config.vocab_size
    else:
        vocab_size = setup.bpe_vocab_size if setup.tokenizer == "bpe" else 96  # ~ a text's distinct characters
        model = build_model(setup, vocab_size)
    tokens = np.random.default_rng(0).integers(0, vocab_size, size=4 * setup.batch_size * (setup.context_length + 1))
    config = replace(setup.train_config(), eval_interval=0, sample_interval=0, snapshot_interval=0)
    trainer = Trainer(model, TokenDataset(tokens, 0.0), config)
    trainer.step()
    started = time.perf_counter()
    for _ in trainer.run(steps):
        pass
    return steps / max(time.perf_counter() - started, 1e-9)
