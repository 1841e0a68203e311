"""Settings for the whole suite.

One torch thread: the models under test are tiny, and on a 2-core machine two torch threads mostly
wait for each other (the core suite runs about twice as fast this way).
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402

torch.set_num_threads(1)


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def no_hub_but_a_loopback_one(tmp_path_factory, monkeypatch):
    """Every test gets a temporary Hugging Face cache and, as its Hub, a closed port on this machine.
    A test that forgets the loopback Hub (tests/hub_server.use_hub, which overrides both) then fails
    with a sentence instead of reaching the internet or reading the user's own cache."""
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf-home")))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens, refused at once
