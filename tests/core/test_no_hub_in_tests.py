"""The suite's guard (tests/conftest.py): without the loopback Hub, a test reaches no Hub and no real cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.files import hub


def test_a_test_without_the_loopback_hub_reaches_no_hub_and_no_real_cache():
    assert hub.hub_address() == "http://127.0.0.1:9"
    assert Path(os.environ["HF_HOME"]).exists() and hub.cache_folder().is_relative_to(os.environ["HF_HOME"])
    assert hub.cached_folder("gpt2") is None  # the user's own cache is never read
    with pytest.raises(ValueError):
        hub.plan_download("gpt2")
