"""Repeated traces reuse freed memory instead of faulting fresh pages in every time."""
import os
import resource
import sys

import pytest
import torch

from core import GPT, preset
from core.speed.malloc import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux") or any(k.startswith("MALLOC_") for k in os.environ),
                    reason="tunes glibc's malloc on Linux only, and never against the user's own MALLOC_ settings")
def test_a_full_trace_of_the_micro_preset_causes_almost_no_page_faults():
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True                         # asking twice is harmless
    torch.manual_seed(0)
    model = GPT(preset("micro", vocab_size=4096)).eval()
    ids = torch.randint(0, 4096, (1, 64))
    for _ in range(3):
        model.trace(ids)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        model.trace(ids)
    faults_per_trace = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10
    # Untuned, each trace re-faults its ~5 MB: about 1,200 faults of 4 KB.
    assert faults_per_trace < 100
