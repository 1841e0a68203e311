"""Repeated traces reuse freed memory instead of faulting fresh pages in every time."""
import os
import resource
import sys

import pytest
import torch

from core import GPT, preset
from core.model.memory import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux") or any(k.startswith("MALLOC_") for k in os.environ),
                    reason="tunes glibc's malloc on Linux only, and never against the user's own MALLOC_ settings")
def test_a_full_trace_of_the_micro_preset_causes_almost_no_page_faults():
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True                         # asking twice is harmless
    torch.manual_seed(0)
    model = GPT(preset("micro", vocab_size=4096)).eval()
    ids = torch.randint(0, 4096, (1, 64))
    for _ in range(3):
        trace = model.trace(ids)
    # The pages one trace's tensors span, on this machine's page size: what an untuned malloc faults in
    # again on every trace (~5 MB: about 1,200 faults of 4 KB).
    storages = {tensor.untyped_storage().data_ptr(): tensor.untyped_storage().nbytes() for tensor in trace.values()}
    trace_pages = sum(storages.values()) / resource.getpagesize()
    del trace
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        model.trace(ids)
    faults_per_trace = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10
    assert trace_pages > 500                       # a trace big enough for the difference to show
    assert faults_per_trace < 0.1 * trace_pages    # reused: under a tenth of its pages fault in again
