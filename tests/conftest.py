"""Settings for the whole suite.

One torch thread: the models under test are tiny, and on a 2-core machine two torch threads mostly
wait for each other (the core suite runs about twice as fast this way).
"""

import atexit
import os
import sys

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


# -- leaving the test process ----------------------------------------------------------------------------
# Since the studio's narrow layouts the test process sometimes crashes in PySide6's own exit clean-up
# (an atexit function that destroys the QApplication and every object still alive): a pyqtgraph item of a
# window the tests left behind gets a geometry event while it is destroyed, its Python override raises
# because Python is finalising, and reporting that error crashes (gdb: shiboken's
# storePythonOverrideErrorOrPrint under PySide::destroyQCoreApplication). Every test has passed by then.
# Registered at the session's end, so it runs before PySide6's clean-up (atexit runs last-in, first-out),
# this leaves the process with pytest's own exit status.


def pytest_sessionfinish(session, exitstatus):
    status = int(exitstatus)

    def leave_before_qt_teardown() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)

    if "PySide6.QtWidgets" in sys.modules:
        atexit.register(leave_before_qt_teardown)
