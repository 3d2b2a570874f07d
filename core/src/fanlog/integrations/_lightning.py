"""The Lightning logger, written once for both ``lightning.pytorch`` and ``pytorch_lightning``.

Lightning calls its loggers in a bare loop on the training thread, so a slow or failing
backend stalls or kills the run. :class:`FanLoggerMixin` puts fanlog's fan-out there
instead: each call is handed to every backend's own worker and returns at once; a backend
that raises is fenced off and reported, the others go on. The two public classes
(:mod:`fanlog.integrations.lightning`, :mod:`fanlog.integrations.pytorch_lightning`) only
add the framework's ``Logger`` base class.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from fanlog.fanout import FanOut, RunSummary
from fanlog.integrations._checkpoints import CheckpointSender
from fanlog.integrations._run import RunPlace, check_options, open_fanout, run_place
from fanlog.status import Status

_STATUS = {"success": Status.SUCCESS, "finished": Status.SUCCESS, "failed": Status.FAILED,
           "interrupted": Status.INTERRUPTED}


class FanLoggerMixin:
    """A Lightning ``Logger`` over a fan-out of fanlog backends (rank 0 logs).

    Args:
        loggers: the backends, as :class:`fanlog.FanOut` takes them: names
            (``["csv", "mlflow"]``), ``{"name": ..., **options}`` dicts, a
            ``{name: options}`` mapping, instances; None reads ``FANLOG_LOGGERS``,
            ``fanlog.toml`` and ``[tool.fanlog]`` (default ``["console", "csv"]``).
        save_dir: the root folder, as Lightning's loggers take it.
        name: the experiment's folder under ``save_dir``.
        version: an int (folder ``version_<n>``), a string (the folder name), or None for
            the next free ``version_<n>``.
        log_graph: record the model graph when Lightning asks (off, as in Lightning).
        **options: :class:`fanlog.FanOut`'s own settings (``on_error``, ``full_policy``,
            ``queue_size``, ``hang_timeout``, ``finalize_timeout``, ``summary``, ...).
    """

    #: the framework's ``rank_zero_only``, whose ``rank`` Lightning sets per process
    _rank_zero_only: Any = None
    _dummy_experiment: Any = None

    def __init__(self, loggers: Any = None, *, save_dir: str | os.PathLike[str] = ".",
                 name: str = "lightning_logs", version: int | str | None = None,
                 log_graph: bool = False, **options: Any) -> None:
        super().__init__()
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        self._loggers = loggers
        self._save_dir = os.fspath(save_dir)
        self._name = name
        self._version = version
        self._log_graph = log_graph
        self._options = options
        self._place: RunPlace | None = None
        self._fan: FanOut | None = None
        self._summary: RunSummary | None = None
        self._sent: dict[str, int] = {}  # checkpoint path -> mtime when sent
        self._checkpoints = CheckpointSender()
        check_options(options)

    # -- where the run lives ---------------------------------------------------------------
    def _run(self) -> RunPlace:
        if self._place is None:
            self._place = run_place(self._save_dir, self._name, self._version,
                                    claim=self._rank() == 0)
        return self._place

    def _rank(self) -> int:
        return getattr(self._rank_zero_only, "rank", 0)

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> int | str:
        return self._run().version

    @property
    def save_dir(self) -> str:
        return self._save_dir

    @property
    def root_dir(self) -> str:
        return str(Path(self._save_dir, self._name))

    @property
    def log_dir(self) -> str:
        """``save_dir/name/version_<n>``: every backend's folder and, under it,
        ModelCheckpoint's ``checkpoints/``."""
        return self._run().log_dir

    @property
    def experiment(self) -> FanOut:
        """The fan-out (its ``.backends`` hold each backend's own object); started on first
        use, on rank 0 only (other ranks get Lightning's dummy)."""
        if self._rank() > 0:
            return self._dummy_experiment()
        if self._fan is None:
            self._fan = open_fanout(self._loggers, self._run(), self._options)
        return self._fan

    # -- what Lightning calls --------------------------------------------------------------
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if self._rank() == 0:
            self.experiment.log_metrics(metrics, step)

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        if self._rank() == 0:
            self.experiment.log_hyperparams(params)

    def log_graph(self, model: Any, input_array: Any = None) -> None:
        """With ``log_graph=True``: the model traced with ``input_array``, else with its
        ``example_input_array``, as Lightning's TensorBoardLogger does."""
        if self._log_graph and self._rank() == 0:
            if input_array is None:
                input_array = getattr(model, "example_input_array", None)
            self.experiment.log_graph(model, input_array)

    def save(self) -> None:
        """Nothing to do: Lightning calls this at every logging step, and each backend's
        worker already delivers every call; files are made durable at ``finalize``."""

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        """Send each checkpoint file ModelCheckpoint wrote since the last call to the
        backends that store artifacts (``metadata["kind"] == "checkpoint"``)."""
        if self._rank() > 0:
            return
        best = getattr(checkpoint_callback, "best_k_models", {}) or {}
        paths = [getattr(checkpoint_callback, "best_model_path", ""), *best,
                 getattr(checkpoint_callback, "last_model_path", "")]
        for path in dict.fromkeys(p for p in paths if p):
            try:
                mtime = os.stat(path).st_mtime_ns
            except OSError:
                continue
            if self._sent.get(path) == mtime:
                continue
            self._sent[path] = mtime
            metadata: dict[str, Any] = {"kind": "checkpoint"}
            monitor = getattr(checkpoint_callback, "monitor", None)
            if monitor is not None and path in best:
                metadata.update(monitor=monitor, score=float(best[path]))
            self._checkpoints.send(self.experiment, path, metadata)

    def finalize(self, status: str) -> None:
        """End the backends' run. Lightning says "failed" for Ctrl-C too; the exception
        being handled tells them apart. A later fit or test starts the run again in
        the same folder."""
        if self._fan is None or self._rank() > 0:
            return
        ending = _STATUS.get(status, Status.FAILED)
        if ending is Status.FAILED and sys.exc_info()[1] is not None:
            ending = Status.from_exception(sys.exc_info()[1])
        fan, self._fan = self._fan, None
        self._summary = fan.finalize(ending)
        self._checkpoints.release(everything=True)

    @property
    def summary(self) -> RunSummary | None:
        """Per backend, what it received, delivered and how it ended: live while the
        run is open, then the last finished run's (None before any)."""
        return self._fan.summary if self._fan is not None else self._summary

    def __getstate__(self) -> dict[str, Any]:
        """Picklable for ``ddp_spawn``: the run is placed first, so the spawned processes
        and this one agree on the version; the fan-out (threads) stays behind, and the
        process that logs starts its own."""
        self._run()
        state = dict(self.__dict__)
        state["_fan"] = None
        state["_checkpoints"] = CheckpointSender()
        return state
