"""The text log: MMEngine-style iteration lines and the per-rank log files they go to.

At every logging step :class:`LogProcessor` turns the training metrics' recent values into
one line such as::

  Epoch(train) [1][10/25]  lr: 1.0000e-02  eta: 0:00:03  time: 0.0019  data_time: 0.0004  loss: 1.7

(``Iter(train) [10/100]`` with ``by_epoch=False``); metrics are smoothed over
``window_size`` iterations unless ``custom_cfg`` asks otherwise, per metric. Lines go to the
``fanlog`` Python logger, which :func:`open_text_log` points at ``run.log`` (rank 0) and, at
DEBUG, ``run_rank<N>.log`` for every other rank; backends that print text (the console)
get them through the ``on_log_line`` callback hook.
"""

from __future__ import annotations

import datetime
import logging
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanlog.metrics import History

log = logging.getLogger("fanlog")
_METHODS = ("mean", "min", "max", "current")
FORMAT = "%(asctime)s - fanlog - %(levelname)s - %(message)s"
DATEFMT = "%m/%d %H:%M:%S"


@dataclass(frozen=True)
class Statistic:
    """How one metric is shown: ``method`` over ``window_size`` iterations (None: the
    processor's window; "epoch" and "global" also work), under ``log_name`` (default: the
    metric's own name, replacing the default smoothing; another name adds a field)."""

    data_src: str
    method_name: str = "mean"
    window_size: int | str | None = None
    log_name: str | None = None

    def __post_init__(self) -> None:
        if self.method_name not in _METHODS:
            raise ValueError(f"custom_cfg for {self.data_src!r}: method_name must be one of "
                             f"{_METHODS}, got {self.method_name!r}")
        if not (self.window_size in (None, "epoch", "global") or (
                isinstance(self.window_size, int) and self.window_size > 0)):
            raise ValueError(f"custom_cfg for {self.data_src!r}: window_size must be a "
                             f"positive int, 'epoch' or 'global'; got {self.window_size!r}")


class LogProcessor:
    """Formats the text log's lines (MMEngine's ``LogProcessor``).

    ``custom_cfg`` is a list of :class:`Statistic` or dicts with its fields, e.g.
    ``[{"data_src": "loss", "method_name": "max", "window_size": "epoch",
    "log_name": "loss_max"}]``.
    """

    def __init__(self, window_size: int = 10, by_epoch: bool = True,
                 custom_cfg: Iterable[Statistic | Mapping[str, Any]] = (),
                 num_digits: int = 4) -> None:
        if window_size < 1:
            raise ValueError(f"window_size must be at least 1, got {window_size}")
        self.window_size = window_size
        self.by_epoch = by_epoch
        self.num_digits = num_digits
        self.custom = [c if isinstance(c, Statistic) else Statistic(**c) for c in custom_cfg]
        self._replaced = {c.data_src for c in self.custom if c.log_name in (None, c.data_src)}
        self.time, self.data_time = History(window_size), History(window_size)

    @property
    def max_window(self) -> int:
        """The longest window any statistic needs (how many values histories keep)."""
        sizes = [c.window_size for c in self.custom if isinstance(c.window_size, int)]
        return max([self.window_size, *sizes])

    @property
    def needs_totals(self) -> bool:
        """Whether some statistic spans the epoch or the run (histories then keep totals)."""
        return any(c.window_size in ("epoch", "global") for c in self.custom)

    def record_time(self, iteration: float, data: float) -> None:
        self.time.update(iteration)
        self.data_time.update(data)

    def train_line(self, histories: Mapping[str, History], epoch: int, batch: int,
                   batches: int | None, iteration: int, iterations: int | None,
                   remaining: int | None, lr: float | None) -> str:
        """The line for a training logging step (``batch``, ``iteration`` count from 1)."""
        if self.by_epoch:
            parts = [f"Epoch(train) [{epoch + 1}][{batch}/{_total(batches)}]"]
        else:
            parts = [f"Iter(train) [{iteration}/{_total(iterations)}]"]
        if lr is not None:
            parts.append(f"lr: {lr:.{self.num_digits}e}")
        if remaining is not None and self.time.window:
            seconds = remaining * self.time.statistic("mean", self.window_size)
            parts.append(f"eta: {datetime.timedelta(seconds=round(seconds))}")
        for name, history in (("time", self.time), ("data_time", self.data_time)):
            seconds = history.statistic("mean", self.window_size)
            parts.append(f"{name}: {seconds:.{self.num_digits}f}")
        parts += [f"{name}: {self._number(value)}"
                  for name, value in self.statistics(histories).items()]
        return "  ".join(parts)

    def statistics(self, histories: Mapping[str, History]) -> dict[str, float]:
        """Each metric's shown value: the window mean, or what ``custom_cfg`` says."""
        out = {name: h.statistic("mean", self.window_size)
               for name, h in histories.items() if name not in self._replaced}
        for c in self.custom:
            if c.data_src in histories:
                out[c.log_name or c.data_src] = histories[c.data_src].statistic(
                    c.method_name, c.window_size or self.window_size)
        return out

    def epoch_line(self, stage: str, metrics: Mapping[str, float], epoch: int,
                   batches: int) -> str:
        """The summary line of an epoch of ``stage`` (train, val, test)."""
        if not self.by_epoch:
            where = f"Iter({stage}) [{batches}/{batches}]"
        elif stage == "test":  # a test pass belongs to no epoch
            where = f"Epoch(test) [{batches}/{batches}]"
        else:
            where = f"Epoch({stage}) [{epoch + 1}][{batches}/{batches}]"
        return "  ".join([where] + [f"{k}: {self._number(v)}" for k, v in metrics.items()])

    def _number(self, value: float) -> str:
        if not math.isfinite(value) or value == 0 or 10 ** -self.num_digits <= abs(value) < 1e6:
            return f"{value:.{self.num_digits}f}"
        return f"{value:.{self.num_digits}e}"


def _total(n: int | None) -> str:
    return "?" if n is None else str(n)


class TextLog:
    """The ``fanlog`` logger's file handlers for one run: ``run.log`` on rank 0 and, when
    ``level`` is DEBUG, ``run_rank<N>.log`` on the other ranks. :meth:`close` restores the
    logger as it was."""

    def __init__(self, folder: str | Path, rank: int, level: int | str = "INFO") -> None:
        self.level = logging.getLevelName(level) if isinstance(level, str) else level
        if not isinstance(self.level, int):
            raise ValueError(f"log_level must be a logging level name or number, got {level!r}")
        self._old_level = log.level
        self.handler: logging.Handler | None = None
        if rank == 0 or self.level <= logging.DEBUG:
            path = Path(folder) / ("run.log" if rank == 0 else f"run_rank{rank}.log")
            path.parent.mkdir(parents=True, exist_ok=True)
            self.handler = logging.FileHandler(path, encoding="utf-8")
            self.handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
            self.handler.setLevel(self.level)
            log.addHandler(self.handler)
            if log.level == logging.NOTSET or log.level > self.level:
                log.setLevel(self.level)

    @property
    def active(self) -> bool:
        """Whether lines written here go anywhere (worth formatting)."""
        return self.handler is not None

    def info(self, line: str) -> None:
        """Write one INFO line. While this file is all that listens to the ``fanlog``
        logger, the line goes straight to it: the logging machinery costs ten times the
        write, at every logging step."""
        handler = self.handler
        if handler is None:
            return
        if len(log.handlers) > 1 or (log.propagate and logging.getLogger().handlers):
            log.info(line)
            return
        text = f"{time.strftime(DATEFMT)} - fanlog - INFO - {line}\n"
        with handler.lock:
            handler.stream.write(text)
            handler.stream.flush()

    def close(self) -> None:
        if self.handler is not None:
            log.removeHandler(self.handler)
            self.handler.close()
            self.handler = None
        log.setLevel(self._old_level)
