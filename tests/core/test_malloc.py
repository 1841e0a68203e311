"""Training steps reuse freed memory instead of faulting fresh pages in every time (core/speed/malloc.py).

Each setting runs in a fresh process (malloc's thresholds cannot be set back), and the two are compared
with each other, not with a fixed number of faults, which depends on the machine.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import json, resource, sys
import numpy as np, torch
import core.training.trainer
from core import GPT, preset
from core.training.dataset import TokenDataset
from core.training.trainer import TrainConfig, Trainer
torch.set_num_threads(1)
if sys.argv[1] == "untuned":
    core.training.trainer.keep_freed_memory = lambda: False   # the trainer's request does nothing
tokens = np.random.default_rng(0).integers(0, 4096, 20_000).astype(np.int64)
config = TrainConfig(batch_size=12, context_length=64, eval_interval=0, sample_interval=0, snapshot_interval=0,
                     device="cpu")
trainer = Trainer(GPT(preset("micro", vocab_size=4096)), TokenDataset(tokens, 0.0), config)
for _ in range(3):
    trainer.step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    trainer.step()
print(json.dumps((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 4))
"""


def faults_per_step(setting: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | {"PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, setting], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    ).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or any(k.startswith("MALLOC_") for k in os.environ),
    reason="tunes glibc's malloc on Linux only, and never against the user's own MALLOC_ settings",
)
def test_tuned_training_steps_fault_in_far_fewer_pages():
    from core.speed.malloc import keep_freed_memory

    assert keep_freed_memory() is True and keep_freed_memory() is True  # asking twice is harmless
    untuned, tuned = faults_per_step("untuned"), faults_per_step("tuned")
    if untuned < 500:
        pytest.skip(f"this C library keeps freed memory by itself ({untuned:.0f} faults a step): nothing to tune")
    assert tuned < untuned / 4, (tuned, untuned)
