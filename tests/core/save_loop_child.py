"""Run by test_save_faults.py as a real process: saves a model again and again until it is killed.

It imports torch and builds the model once, then for each line on stdin
    checkpoint <folder> <first number>      or      session <file> <first number>
forks a saver that fills every weight with n (n = first number, first number + 1, ...) and saves it,
announcing each save on stdout:
    saving <n>   ...   writing <temporary file>   replace <from> -> <to>   ...   saved <n>
The test kills the saver with SIGKILL whenever it likes; this process then reports `dead <pid> <status>`.
(`limited <folder> 1` instead saves under a file size limit and reports what happened.)
Forking keeps the ~2 s start-up of torch out of every one of the test's kills.

Writing is slowed down here, and only here, so that a kill can land in the middle of a file:
tensor files are written in CHUNK-byte pieces with a short sleep between them, and every rename is
followed by a short sleep, so kills also land between two renames.
"""

from __future__ import annotations

import itertools
import os
import resource
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

from core.files import checkpoint as checkpoint_module
from core.files import class_file as class_file_module
from core.files.checkpoint import save_trainer
from core.model.config import GPTConfig
from core.training.dataset import TokenDataset
from core.model.model import GPT
from core.files.class_file import ClassFile, save_class_file
from core.tokenizers import CharTokenizer
from core.training.trainer import TrainConfig, Trainer

CHUNK = 128 * 1024  # bytes written between two sleeps
PAUSE_S = 0.002  # the sleep between two chunks, and after each rename (x5)
TOKENIZER = CharTokenizer("abcdefghijklmnopqrstuvwxyz .,\n")
# About 400,000 weights: a 1.6 MB model file and a 3.2 MB optimizer file (~40 slowed chunks in all).
CONFIG = GPTConfig(vocab_size=TOKENIZER.vocab_size, context_length=32, d_model=128, n_layers=2, n_heads=4)


def say(text: str) -> None:
    os.write(1, f"{text}\n".encode())  # one write of the whole line: a kill cannot cut it in two


def slow_write_all(file, data: bytes) -> None:
    say(f"writing {Path(file.name).name}")
    view = memoryview(data)
    for start in range(0, len(view), CHUNK):
        file.write(view[start : start + CHUNK])
        time.sleep(PAUSE_S)


def slow_write_archive(file, *args) -> None:
    say(f"writing {Path(file.name).name}")
    real_write_archive(file, *args)
    time.sleep(5 * PAUSE_S)


def announced_replace(source, target) -> None:
    say(f"replace {Path(source).name} -> {Path(target).name}")
    real_replace(source, target)
    time.sleep(5 * PAUSE_S)


real_replace = os.replace
real_write_archive = class_file_module._write_archive


def fill(model: GPT, n: int) -> None:
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(float(n))


def save_forever(kind: str, target: str, first: int, trainer: Trainer) -> None:
    checkpoint_module._write_all = slow_write_all
    class_file_module._write_archive = slow_write_archive
    os.replace = announced_replace
    for n in itertools.count(first):
        fill(trainer.model, n)
        trainer.step_count = n
        say(f"saving {n}")
        if kind == "checkpoint":
            save_trainer(target, trainer)
        else:
            save_class_file(target, ClassFile(trainer.model, TOKENIZER, prompt=f"save {n}", step=n))
        say(f"saved {n}")


def save_past_a_size_limit(folder: str) -> None:
    """A small save, then a bigger one with the file size limited to 100 kB: the system refuses (EFBIG)."""
    from core.files.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

    small = GPT(GPTConfig(vocab_size=TOKENIZER.vocab_size, context_length=8, d_model=16, n_layers=1, n_heads=2))
    save_checkpoint(folder, small, TOKENIZER, step=1)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
    try:
        save_checkpoint(folder, GPT(CONFIG), TOKENIZER, step=2)  # 1.6 MB
        say("saved past the limit")
    except CheckpointError as error:
        say(str(error).replace("\n", " "))
    say(f"loads step {load_checkpoint(folder).step}")


def main() -> None:
    torch.set_num_threads(1)  # one thread: safe to fork, and the machine is shared
    torch.manual_seed(0)
    tokens = np.arange(4000, dtype=np.uint16) % TOKENIZER.vocab_size
    trainer = Trainer(
        GPT(CONFIG),
        TokenDataset(tokens, val_fraction=0.1),
        TrainConfig(context_length=CONFIG.context_length, batch_size=2),
        TOKENIZER,
    )
    say("ready")
    for line in sys.stdin:
        kind, target, first = line.split()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                if kind == "limited":
                    save_past_a_size_limit(target)
                    code = 0
                else:
                    save_forever(kind, target, int(first), trainer)
            finally:
                os._exit(code)
        say(f"started {pid}")
        _, status = os.waitpid(pid, 0)
        say(f"dead {pid} {status}")


if __name__ == "__main__":
    main()
