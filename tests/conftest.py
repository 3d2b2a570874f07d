"""Shared test set-up: every test runs in its own empty working directory with no fanlog
settings inherited from the environment, so nothing lands in the repository or $HOME."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    for var in list(os.environ):
        if var.startswith("FANLOG_"):
            monkeypatch.delenv(var)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield
