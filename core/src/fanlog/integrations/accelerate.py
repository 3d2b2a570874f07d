"""``FanLogTracker``: fanlog's fan-out as an Accelerate tracker.

    accelerator = Accelerator(log_with=[FanLogTracker(["csv", "mlflow"])])
    accelerator.init_trackers("project", config={"lr": 1e-3})
    accelerator.log({"loss": loss}, step=step)
    accelerator.end_training()

Accelerate calls its trackers on the training thread, so a slow or failing one stalls or
kills the run; this tracker hands each call to every backend's own worker instead.
Accelerate calls it on the main process only.
"""

from __future__ import annotations

import os
from typing import Any

from fanlog.fanout import FanOut, RunSummary
from fanlog.integrations._optional import missing
from fanlog.integrations._run import RunPlace, check_options, open_fanout, run_place
from fanlog.integrations._values import split
from fanlog.status import Status

try:
    from accelerate.tracking import GeneralTracker
except ImportError as exc:
    raise missing(__name__, "Accelerate", "accelerate", exc) from exc


class FanLogTracker(GeneralTracker):
    """An Accelerate ``GeneralTracker`` over a fan-out of fanlog backends.

    Args:
        loggers: the backends, as :class:`fanlog.FanOut` takes them (names, dicts,
            instances; None reads ``FANLOG_LOGGERS``, ``fanlog.toml``, ``[tool.fanlog]``).
        save_dir: the root folder of the run.
        name: the run's folder under ``save_dir``.
        version: an int (``version_<n>``), a string (the folder name), or None for the next
            free ``version_<n>``.
        **options: :class:`fanlog.FanOut`'s own settings (``on_error``, ``full_policy``, ...).
    """

    name = "fanlog"
    requires_logging_directory = False
    main_process_only = True

    def __init__(self, loggers: Any = None, *, save_dir: str | os.PathLike[str] = "fanlog_logs",
                 name: str = "fanlog", version: int | str | None = None,
                 **options: Any) -> None:
        super().__init__()
        check_options(options)
        self._loggers = loggers
        self._save_dir = os.fspath(save_dir)
        self._run_name = name
        self._version = version
        self._options = options
        self._place: RunPlace | None = None
        self._fan: FanOut | None = None
        self._summary: RunSummary | None = None
        self._skipped: set[str] = set()

    @property
    def place(self) -> RunPlace:
        """Where the run's files go: ``save_dir/name/version_<n>``."""
        if self._place is None:
            self._place = run_place(self._save_dir, self._run_name, self._version)
        return self._place

    @property
    def tracker(self) -> FanOut:
        """The fan-out (``.backends`` holds each backend's own object), started on first use."""
        if self._fan is None:
            self._fan = open_fanout(self._loggers, self.place, self._options)
        return self._fan

    @property
    def summary(self) -> RunSummary | None:
        """The open run's live counts, else the last finished run's (None before any)."""
        return self._fan.summary if self._fan is not None else self._summary

    def start(self) -> None:
        """Accelerate's ``init_trackers``: the fan-out starts here."""
        _ = self.tracker

    def store_init_configuration(self, values: dict[str, Any]) -> None:
        self.tracker.log_hyperparams(values)

    def log(self, values: dict[str, Any], step: int | None = None, **kwargs: Any) -> None:
        """Numbers and one-element tensors go out as metrics, strings as text, nested
        dicts flattened (``{"a": {"b": 1}}`` -> ``a/b``)."""
        metrics, texts = split(values, self._skipped)
        fan = self.tracker
        if metrics:
            fan.log_metrics(metrics, step=step)
        for key, text in texts.items():
            fan.log_text(key, text, step=step)

    def finish(self) -> None:
        """Accelerate's ``end_training``: end the backends' run."""
        if self._fan is not None:
            fan, self._fan = self._fan, None
            self._summary = fan.finalize(Status.SUCCESS)


__all__ = ["FanLogTracker"]
