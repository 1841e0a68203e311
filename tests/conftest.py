"""Settings for the whole suite.

One torch thread: the models under test are tiny, and on a 2-core machine two torch threads mostly
wait for each other (the core suite runs about twice as fast this way).
"""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402

torch.set_num_threads(1)
