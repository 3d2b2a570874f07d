"""How a run ended, as every backend is told in ``finalize``."""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    """A run's final status. Each backend maps it to its own notion (MLflow FINISHED /
    FAILED / KILLED, W&B exit codes, ...)."""

    SUCCESS = "success"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @classmethod
    def from_exception(cls, exc: BaseException | None) -> Status:
        """The status a run ending with ``exc`` (None: no exception) should report."""
        if exc is None:
            return cls.SUCCESS
        if isinstance(exc, KeyboardInterrupt):
            return cls.INTERRUPTED
        return cls.FAILED
