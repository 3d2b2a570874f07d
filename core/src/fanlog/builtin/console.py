"""``console``: human-readable text lines for what reaches the fan-out."""

from __future__ import annotations

import math
import sys
import time
from typing import Any, Literal, TextIO

from fanlog.params import flatten


class ConsoleLogger:
    """Print metrics, hyperparameters and text as timestamped lines.

    ``stream`` is ``"stdout"`` or ``"stderr"``; ``precision`` is the number of digits after
    the point; ``prefix`` is joined before every metric name as ``prefix-name`` (Lightning's
    way).
    """

    def __init__(self, stream: Literal["stdout", "stderr"] = "stdout", precision: int = 4,
                 prefix: str = "") -> None:
        if stream not in ("stdout", "stderr"):
            raise ValueError(f"stream must be 'stdout' or 'stderr', got {stream!r}")
        if precision < 1:
            raise ValueError(f"precision must be at least 1, got {precision}")
        self.stream_name = stream
        self.precision = precision
        self.prefix = prefix
        self._finalized = False
        self._trainer_lines = False

    @property
    def experiment(self) -> TextIO:
        """The stream written to."""
        return sys.stdout if self.stream_name == "stdout" else sys.stderr

    def _emit(self, text: str) -> None:
        stamp = time.strftime("%m/%d %H:%M:%S")
        stream = self.experiment
        stream.write(f"{stamp} - fanlog - INFO - {text}\n")
        stream.flush()

    def _number(self, value: float) -> str:
        """Integers as integers, ordinary magnitudes fixed-point, the rest in e-notation
        (``lr: 1.0000e-02``), as MMEngine's text log shows them."""
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        if 1e-3 <= abs(value) < 1e5:
            return f"{value:.{self.precision}f}"
        return f"{value:.{self.precision}e}"

    def on_log_line(self, line: str) -> None:
        """A line of the trainer's text log (a callback hook, on the training thread): from
        the first one on, these lines stand in for this backend's own metric lines."""
        self._trainer_lines = True
        self._emit(line)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        if self._trainer_lines:
            return
        pre = f"{self.prefix}-" if self.prefix else ""
        parts = "  ".join(f"{pre}{k}: {self._number(v)}" for k, v in metrics.items())
        self._emit(f"step {step}  {parts}")

    def log_hyperparams(self, params: dict[str, Any]) -> None:
        flat = flatten(params)
        self._emit("hyperparameters: " + ", ".join(f"{k}={v!r}" for k, v in flat.items()))

    def log_text(self, key: str, text: str, step: int | None) -> None:
        at = "" if step is None else f" (step {step})"
        pre = f"{self.prefix}-" if self.prefix else ""
        self._emit(f"{pre}{key}{at}: {text}")

    def log_artifact(self, path: str, name: str | None, metadata: dict[str, Any]) -> None:
        kind = metadata.get("kind", "artifact")
        self._emit(f"{kind} saved: {path}")

    def finalize(self, status: Any) -> None:
        if not self._finalized:
            self._finalized = True
            self._emit(f"run ended: {getattr(status, 'value', status)}")
