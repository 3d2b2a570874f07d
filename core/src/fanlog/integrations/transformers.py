"""``FanLogCallback``: fanlog's fan-out inside the Hugging Face ``Trainer``.

    Trainer(model, args=TrainingArguments(..., report_to="none"),
            callbacks=[FanLogCallback(["csv", "mlflow"])])

The Trainer calls its reporting callbacks on the training thread, so a slow or failing
tracker stalls or kills the run; this callback hands each call to every backend's own
worker instead. On the main process only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fanlog.fanout import FanOut, RunSummary
from fanlog.integrations._checkpoints import CheckpointSender
from fanlog.integrations._optional import missing
from fanlog.integrations._run import RunPlace, check_options, open_fanout, run_place
from fanlog.integrations._values import split
from fanlog.status import Status

try:
    from transformers import TrainerCallback
except ImportError as exc:
    raise missing(__name__, "Hugging Face Transformers", "transformers", exc) from exc

_CHECKPOINT_PREFIX = "checkpoint"  # the Trainer's checkpoint-<global_step> folders


class FanLogCallback(TrainerCallback):
    """Send the Trainer's logs, hyperparameters and checkpoints to fanlog backends.

    Args:
        loggers: the backends, as :class:`fanlog.FanOut` takes them (names, dicts,
            instances; None reads ``FANLOG_LOGGERS``, ``fanlog.toml``, ``[tool.fanlog]``).
        save_dir: the root folder of the run (default: ``TrainingArguments.output_dir``).
        name: the run's folder under ``save_dir``.
        version: an int (``version_<n>``), a string (the folder name), or None for the next
            free ``version_<n>``.
        log_checkpoints: send each checkpoint folder the Trainer saves to the backends
            that store artifacts (``metadata["kind"] == "checkpoint"``).
        **options: :class:`fanlog.FanOut`'s own settings (``on_error``, ``full_policy``, ...).
    """

    def __init__(self, loggers: Any = None, *, save_dir: str | os.PathLike[str] | None = None,
                 name: str = "fanlog", version: int | str | None = None,
                 log_checkpoints: bool = True, **options: Any) -> None:
        check_options(options)
        self._loggers = loggers
        self._save_dir = None if save_dir is None else os.fspath(save_dir)
        self._name = name
        self._version = version
        self._log_checkpoints = log_checkpoints
        self._options = options
        self._place: RunPlace | None = None
        self._fan: FanOut | None = None
        self._summary: RunSummary | None = None
        self._skipped: set[str] = set()
        self._checkpoints = CheckpointSender()

    def place(self, args: Any) -> RunPlace:
        """Where the run's files go: ``save_dir/name/version_<n>``."""
        if self._place is None:
            save_dir = self._save_dir if self._save_dir is not None else args.output_dir
            self._place = run_place(save_dir or ".", self._name, self._version)
        return self._place

    def fan(self, args: Any) -> FanOut:
        """The open fan-out, started on first use."""
        if self._fan is None:
            self._fan = open_fanout(self._loggers, self.place(args), self._options)
        return self._fan

    @property
    def summary(self) -> RunSummary | None:
        """The open run's live counts, else the last finished run's (None before any)."""
        return self._fan.summary if self._fan is not None else self._summary

    # -- the Trainer's events ----------------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                       **kwargs: Any) -> None:
        """Hyperparameters: the TrainingArguments over the model's config, as the Trainer's
        own reporting callbacks combine them."""
        if not state.is_world_process_zero:
            return
        params = args.to_dict()
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_dict"):
            params = {**config.to_dict(), **params}
        self.fan(args).log_hyperparams(params)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        metrics, texts = split(logs, self._skipped)
        fan = self.fan(args)
        if metrics:
            fan.log_metrics(metrics, step=state.global_step)
        for key, text in texts.items():
            fan.log_text(key, text, step=state.global_step)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not (state.is_world_process_zero and self._log_checkpoints):
            return
        folder = Path(args.output_dir, f"{_CHECKPOINT_PREFIX}-{state.global_step}")
        if folder.is_dir():
            self._checkpoints.send(self.fan(args), folder,
                                   {"kind": "checkpoint", "step": state.global_step})

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """End the backends' run; a later ``train()`` starts it again in the same folder."""
        if self._fan is not None:
            fan, self._fan = self._fan, None
            self._summary = fan.finalize(Status.SUCCESS)
            self._checkpoints.release(everything=True)


__all__ = ["FanLogCallback"]
