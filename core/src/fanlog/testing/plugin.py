"""The pytest plugin (entry point ``pytest11``) that ships the kit's fixtures to every test
suite in an environment where fanlog is installed."""

from __future__ import annotations

import pytest

from fanlog.testing.recording import RecordingLogger


@pytest.fixture
def fanlog_recorder() -> RecordingLogger:
    """A backend that records every hook call, for comparing against."""
    return RecordingLogger()


@pytest.fixture
def fanlog_gloo():
    """``fanlog_gloo(fn, *args)`` runs ``fn(rank, world_size, *args)`` in 2 gloo processes."""
    from fanlog.testing.runs import run_gloo

    return run_gloo


@pytest.fixture
def fanlog_fake_run():
    """``fanlog_fake_run(fan, steps=20)`` drives every logger hook through a fan-out."""
    from fanlog.testing.runs import fake_training_run

    return fake_training_run
