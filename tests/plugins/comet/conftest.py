"""Comet tests run the real comet_ml offline, with the network blocked (any attempt fails the
test) and $HOME in a temp folder; Comet settings the backend sets are undone after each."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugins.comet.comet_support import blocked_network, private_home

# The test modules import comet_ml while they are collected, before any
# fixture runs. Give that import what the backend sets before it imports comet_ml itself (a
# fresh-interpreter test checks the backend alone): no error reporting over the network, no
# auto-logging warnings; and keep matplotlib, which comet_ml imports when it is installed,
# from writing its font cache into $HOME.
os.environ.setdefault("COMET_ERROR_TRACKING_ENABLE", "false")
os.environ.setdefault("COMET_DISABLE_AUTO_LOGGING", "1")
if "MPLCONFIGDIR" not in os.environ:
    os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="fanlog-comet-tests-mpl-")
    atexit.register(shutil.rmtree, os.environ["MPLCONFIGDIR"], ignore_errors=True)


@pytest.fixture(autouse=True)
def _offline(tmp_path: Path) -> Iterator[list[object]]:
    with private_home(tmp_path / "home"), blocked_network() as attempts:
        yield attempts
    assert not attempts, f"the test tried to reach the network: {attempts}"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def no_leftovers() -> Iterator[None]:
    """Fail if the test leaves a thread or a child process behind."""
    import psutil
    before = {t.ident for t in threading.enumerate()}
    yield
    extra = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    children = psutil.Process().children(recursive=True)
    assert not extra, f"threads left running: {extra}"
    assert not children, f"child processes left running: {children}"
