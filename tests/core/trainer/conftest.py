"""Fixtures for the trainer tests."""

from __future__ import annotations

import pytest

from fanlog.testing import RecordingLogger
from fanlog.trainer import Trainer


@pytest.fixture
def recorder():
    return RecordingLogger()


@pytest.fixture
def make_trainer(tmp_path):
    """A Trainer with quiet, fast defaults: one epoch, every step logged, no progress bar,
    no backends unless given, files under ``tmp_path/root``."""

    def make(**kw):
        options = dict(default_root_dir=str(tmp_path / "root"), enable_progress_bar=False,
                       max_epochs=1, log_every_n_steps=1, loggers=False)
        options.update(kw)
        if options["loggers"] is not False:
            options.setdefault("logger_options", {"summary": False})
        return Trainer(**options)

    return make
