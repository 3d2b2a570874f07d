"""Neptune tests run the real neptune client offline (and in debug mode), with the network
blocked (any attempt fails the test), $HOME and neptune's data folder in temp folders."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugins.neptune.neptune_support import blocked_network, private_home


@pytest.fixture(autouse=True)
def _offline(tmp_path: Path) -> Iterator[list[object]]:
    with private_home(tmp_path), blocked_network() as attempts:
        yield attempts
    assert not attempts, f"the test tried to reach the network: {attempts}"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Where neptune keeps its runs in these tests (NEPTUNE_DATA_DIRECTORY)."""
    return tmp_path / "neptune-data"


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
