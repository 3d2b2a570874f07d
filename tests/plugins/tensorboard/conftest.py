"""Fixtures for the TensorBoard backend's tests: an isolated home and working folder, and
TensorBoard's own reader set to keep every event."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing lands in $HOME or the repo; no fanlog configuration leaks in from outside."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("FANLOG_")]:
        monkeypatch.delenv(var)


@pytest.fixture
def read_run() -> Callable[[str | Path], Any]:
    """``read_run(log_dir)`` -> a reloaded ``EventAccumulator`` that dropped nothing
    (size guidance 0 keeps every scalar, image, histogram, audio clip and tensor)."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    keep_all = {kind: 0 for kind in (ea.SCALARS, ea.IMAGES, ea.AUDIO, ea.HISTOGRAMS,
                                     ea.COMPRESSED_HISTOGRAMS, ea.TENSORS)}

    def read(log_dir: str | Path) -> Any:
        acc = ea.EventAccumulator(str(log_dir), size_guidance=keep_all)
        acc.Reload()
        return acc

    return read


@pytest.fixture
def logger(tmp_path: Path) -> Iterator[Any]:
    """A logger under tmp_path whose writer never flushes on its own during a test (so what
    is read back was made durable by ``save``/``finalize``); finalized afterwards."""
    from fanlog_tensorboard import TensorBoardLogger

    lg = TensorBoardLogger(save_dir=tmp_path / "logs", flush_secs=3600)
    yield lg
    lg.finalize("success")
