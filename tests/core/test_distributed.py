"""Two CPU processes under torchrun train the same model as one process with the same global batch.

Each process draws the same global batch and takes its half of the rows; DistributedDataParallel
averages the two half-batch gradients, which is the full-batch gradient up to float rounding. So the
weights after a few steps agree to within 1e-4 and the losses to a relative 1e-4 (stated tolerances:
rounding of a sum split in two, amplified a little by Adam's division by sqrt(v)).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch.distributed

from core.files.checkpoint import load_checkpoint
from core.training.train import main
from training_helpers import one_thread  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_thread")
RUN = [
    "lessons",
    "--preset",
    "nano",
    "--context-length",
    "16",
    "--batch-size",
    "8",
    "--eval-batches",
    "2",
    "--warmup",
    "2",
    "--steps",
    "5",
    "--eval-interval",
    "5",
    "--quiet",
]


@pytest.mark.skipif(
    not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
    reason="this PyTorch build has no gloo backend",
)
def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path, capsys):
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    launched = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "core.training.train",
            *RUN,
            "--out",
            str(tmp_path / "two"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=tmp_path,
    )
    assert launched.returncode == 0, launched.stderr[-2000:]
    summary_lines = [line for line in launched.stdout.splitlines() if line.startswith("{")]
    assert len(summary_lines) == 1  # only the first process prints
    two = json.loads(summary_lines[0])

    assert main([*RUN, "--out", str(tmp_path / "one")]) == 0
    one = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    assert two["processes"] == 2 and one["processes"] == 1 and two["steps"] == one["steps"] == 5
    assert two["val_loss"] == pytest.approx(one["val_loss"], rel=1e-4)
    assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-4)
    weights_two = load_checkpoint(tmp_path / "two").model.state_dict()
    weights_one = load_checkpoint(tmp_path / "one").model.state_dict()
    for name, tensor in weights_one.items():
        np.testing.assert_allclose(weights_two[name].numpy(), tensor.numpy(), atol=1e-4, err_msg=name)
    assert sorted(os.listdir(tmp_path / "two")) == ["meta.json", "model.safetensors", "optimizer.safetensors"]
