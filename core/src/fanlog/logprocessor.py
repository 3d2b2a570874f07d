"""The text log's lines, as MMEngine's ``LogProcessor`` formats them.

Every ``interval`` iterations of an epoch (of the run, with ``by_epoch=False``) a training
line such as::

  Epoch(train) [1][10/25]  lr: 1.0000e-02  eta: 0:00:21  time: 0.0019  data_time: 0.0004  \
  loss: 1.7388  acc: 0.8571

and, during validation and test, lines with the time fields only; at the end of a pass a
line with its metrics and mean times. ``lr`` is the rate the iteration used; ``eta`` the
mean iteration time so far times the iterations left; metrics whose name matches
``mean_pattern`` (losses, times, gradient norms) are means over ``window_size``
iterations, the others their current value; ``custom_cfg`` shows other statistics.
:mod:`fanlog.textlog` writes the lines to ``run.log``.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from fanlog.history import History
from fanlog.itertimer import IterTimer
from fanlog.lineformat import header, iteration_line, number
from fanlog.textlog import TextLog

__all__ = ["LogProcessor", "Statistic", "TextLog"]
_METHODS = ("mean", "min", "max", "current")
_TIMES = ("time", "data_time")
_STYLES = ("mmengine", "readable")


@dataclass(frozen=True)
class Statistic:
    """How one metric is shown: ``method_name`` over ``window_size`` iterations (None: all
    of them, as MMEngine; "epoch" and "global" also work), under ``log_name`` (default: the
    metric's own name, which replaces the default statistic in place; another name adds a
    field)."""

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

    @property
    def name(self) -> str:
        return self.log_name or self.data_src


class LogProcessor:
    """Formats the text log's lines (MMEngine's ``LogProcessor``).

    Args:
        window_size: iterations the default means span.
        by_epoch: ``Epoch(train) [e][i/n]`` lines every ``interval`` iterations of each
            epoch, or ``Iter(train) [i/N]`` lines every ``interval`` steps of the run.
        custom_cfg: per-metric statistics, :class:`Statistic` or dicts with its fields,
            e.g. ``[{"data_src": "loss", "method_name": "max", "window_size": "epoch",
            "log_name": "loss_max"}]``; ``time`` and ``data_time`` work too.
        num_digits: digits after the point.
        mean_pattern: metrics whose name matches are shown as window means, the others
            as their current value.
        style: ``"mmengine"``: numbers as MMEngine prints them (``1234571.5000``);
            ``"readable"``: e-notation below ``10**-num_digits`` and from ``1e6`` on.
        ignore_last: no line for an epoch's last iterations when fewer than ``interval``
            (unless the epoch itself is that short), as MMEngine's ``LoggerHook``.
        interval_exp_name: an ``Exp name:`` line every this many iterations (and at the
            end of each epoch).
        experiment_name: the name on those lines (default: the run folder's name).
        history_size: values kept per metric for windows and :func:`fanlog.get_scalar`.
        clock: what iterations are timed with (default ``time.perf_counter``).
    """

    def __init__(self, window_size: int = 10, by_epoch: bool = True,
                 custom_cfg: Iterable[Statistic | Mapping[str, Any]] = (),
                 num_digits: int = 4,
                 mean_pattern: str = r".*(loss|time|data_time|grad_norm).*",
                 style: str = "mmengine", ignore_last: bool = True,
                 interval_exp_name: int = 1000, experiment_name: str | None = None,
                 history_size: int = 1000,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if not isinstance(window_size, int) or window_size < 1:
            raise ValueError(f"window_size must be an int of at least 1, got {window_size!r}")
        if style not in _STYLES:
            raise ValueError(f"style must be one of {_STYLES}, got {style!r}")
        self.window_size = window_size
        self.by_epoch = by_epoch
        self.num_digits = num_digits
        self.mean_pattern = re.compile(mean_pattern)
        self._smoothed: dict[str, bool] = {}  # name: whether mean_pattern matches it
        self.style = style
        self.ignore_last = ignore_last
        self.interval_exp_name = interval_exp_name
        self.experiment_name = experiment_name
        self.custom = [c if isinstance(c, Statistic) else Statistic(**c) for c in custom_cfg]
        _check(self.custom, by_epoch)
        self.history_size = max([history_size, *self._int_windows()])
        self.clock = clock
        self.start()

    def _int_windows(self) -> list[int]:
        return [self.window_size] + [c.window_size for c in self.custom
                                     if isinstance(c.window_size, int)]

    @property
    def max_window(self) -> int:
        """How many values the metrics engine's histories keep."""
        return self.history_size

    @property
    def needs_totals(self) -> bool:
        """Whether some statistic spans the epoch or the run (histories then keep totals)."""
        return any(c.window_size in ("epoch", "global", None) for c in self.custom)

    # -- the trainer's calls -----------------------------------------------------------------
    def start(self) -> None:
        """A new run: timings, learning rates and evaluation results start afresh."""
        self.timer = IterTimer(self.history_size, self.clock)
        self.lr = History(self.history_size, totals=True)
        self.evaluated: dict[str, dict[str, History]] = {"val": {}, "test": {}}
        self._unmatched = {c.data_src for c in self.custom} - set(_TIMES) - {"lr"}

    def begin(self, stage: str) -> None:
        """An epoch of ``stage`` (train, val, test) starts."""
        self.timer.begin(stage)
        if stage == "train":
            self.lr.epoch.reset()

    def before_iter(self, lr: float | None = None) -> None:
        """A batch arrived; ``lr`` is the rate this training iteration uses."""
        self.timer.loaded()
        if lr is not None:
            self.lr.update(float(lr))

    def after_iter(self) -> None:
        self.timer.finished()

    def train_due(self, count: int, batches: int | None, interval: int) -> bool:
        """Whether iteration ``count`` (of the epoch; of the run with ``by_epoch=False``)
        gets a line: every ``interval`` iterations and, unless ``ignore_last``, at the end
        of the epoch (MMEngine's ``LoggerHook``)."""
        return count % interval == 0 or (count == batches and (
            not self.ignore_last or batches <= interval))

    def exp_name_due(self, count: int, iteration: int, batches: int | None) -> bool:
        return iteration % self.interval_exp_name == 0 or count == batches

    def exp_name_line(self, default: str) -> str:
        return f"Exp name: {self.experiment_name or default}"

    def train_line(self, histories: Mapping[str, History], epoch: int, max_epochs: int | None,
                   batch: int, batches: int | None, iteration: int, iterations: int | None,
                   remaining: int | None, device: torch.device | None = None) -> str:
        """The line of a training iteration (``epoch`` from 1; ``batch``, ``iteration``
        count from 1; ``remaining``: iterations left in the fit)."""
        metrics = {_plain(name): h for name, h in histories.items()
                   if not name.startswith("lr-")}  # LearningRateMonitor's: `lr` says it
        self._check_sources(metrics)
        times = self.timer.histories["train"]
        sources = {"lr": self.lr, "data_time": times["data_time"], **metrics,
                   "time": times["time"]}
        if not self.lr.count:
            del sources["lr"]
        tag = self._collect(sources, "train", batch - 1, iteration, self.custom)
        if self.by_epoch:
            where = header("train", True, batch, batches, epoch, max_epochs)
        else:
            where = header("train", False, iteration, iterations)
        return iteration_line(where, tag, self.timer.eta(remaining), _memory(device), True,
                              self._number, self.num_digits)

    def eval_line(self, stage: str, batch: int, batches: int | None, epoch: int,
                  max_epochs: int | None, iteration: int,
                  device: torch.device | None = None) -> str:
        """The line of a validation or test iteration: its times (and memory)."""
        tag = self._collect(self._eval_sources(stage), stage, batch - 1, iteration,
                            self.custom)
        where = header(stage, self.by_epoch, batch, batches, epoch, max_epochs)
        left = None if batches is None else batches - batch
        return iteration_line(where, tag, self.timer.eta(left), _memory(device), False,
                              self._number, self.num_digits)

    def epoch_line(self, stage: str, metrics: Mapping[str, float], epoch: int,
                   batches: int, iteration: int = 0) -> str:
        """The line at the end of an epoch of ``stage``: for val and test, the pass's
        metrics then its mean ``data_time`` and ``time``; for train, the epoch values."""
        if stage == "train":
            where = (f"Epoch(train) [{epoch}][{batches}/{batches}]" if self.by_epoch
                     else f"Iter(train) [{batches}/{batches}]")
            return "  ".join([where] + [f"{k}: {self._number(v)}" for k, v in metrics.items()])
        for name, value in metrics.items():
            self.evaluated[stage].setdefault(name, History(self.history_size)).update(value)
        custom = list(self.custom) + [Statistic(name, "mean", "epoch") for name in _TIMES
                                      if name not in {c.data_src for c in self.custom}]
        tag = self._collect(self._eval_sources(stage), stage, batches, iteration, custom,
                            epoch_line=True)
        if not self.by_epoch:
            where = f"Iter({stage}) [{batches}/{batches}]"
        elif stage == "val":
            where = f"Epoch(val) [{epoch}][{batches}/{batches}]"
        else:
            where = f"Epoch(test) [{batches}/{batches}]"
        items = [(k, v) for k, v in tag.items() if k not in _TIMES] + [
            (k, v) for k, v in tag.items() if k in _TIMES]
        return f"{where}    " + "  ".join(f"{k}: {self._number(v)}" for k, v in items)

    # -- statistics ----------------------------------------------------------------------------
    def statistics(self, histories: Mapping[str, History]) -> dict[str, float]:
        """Each training metric's shown value (``histories`` by plain name), without the
        times: the window mean or the current value, or what ``custom_cfg`` says."""
        return self._collect({_plain(k): h for k, h in histories.items()}, "train", 0, 0,
                             [c for c in self.custom if c.data_src not in _TIMES])

    def _eval_sources(self, stage: str) -> dict[str, History]:
        timed = {name: h for name, h in self.timer.histories[stage].items() if h.count}
        return {**timed, **self.evaluated[stage]}

    def _collect(self, sources: Mapping[str, History], stage: str, batch_idx: int,
                 iteration: int, custom: Iterable[Statistic],
                 epoch_line: bool = False) -> dict[str, float]:
        """MMEngine's ``_collect_scalars``: every source's default statistic, in order,
        then the custom ones (a replaced field keeps its place)."""
        smoothed = self._smoothed
        for name in sources.keys() - smoothed.keys():
            smoothed[name] = self.mean_pattern.search(name) is not None
        tag = {name: h.statistic("mean", self.window_size) if smoothed[name] else h.current()
               for name, h in sources.items()}
        for c in custom:
            if c.data_src in sources:
                tag[c.name] = self._custom(sources[c.data_src], c, stage, batch_idx,
                                           iteration, epoch_line)
        return tag

    def _custom(self, h: History, c: Statistic, stage: str, batch_idx: int, iteration: int,
                epoch_line: bool) -> float:
        method, window = c.method_name, c.window_size
        if method == "current" or not isinstance(window, str):
            return h.statistic(method, window)
        if h.epoch is not None and (stage == "train" or window == "global"):
            return h.statistic(method, window if stage == "train" else iteration + 1)
        if h.epoch is not None:  # an evaluation pass's times: the pass, and one value more
            previous = self.timer.previous[stage].get(c.data_src)
            if not epoch_line or previous is None:
                return h.epoch.result(method)
            if method == "mean":
                return (h.epoch.total + previous) / (h.epoch.n + 1)
            return (max if method == "max" else min)(h.epoch.result(method), previous)
        return h.statistic(method, batch_idx + 1 if window == "epoch" else iteration + 1)

    def _check_sources(self, metrics: Mapping[str, History]) -> None:
        """At the first training line, name each custom_cfg ``data_src`` that no metric
        logged so far matches (MMEngine skips them silently)."""
        for source in sorted(self._unmatched - set(metrics)):
            warnings.warn(f"custom_cfg data_src {source!r} matches no training metric logged "
                          f"so far: {sorted(metrics) or 'none'}", stacklevel=3)
        self._unmatched = set()

    def _number(self, value: float) -> str:
        return number(value, self.num_digits, self.style == "readable")


def _check(custom: list[Statistic], by_epoch: bool) -> None:
    """MMEngine's checks: one field per name, and no epoch windows without epochs."""
    seen: dict[str, str] = {}
    for c in custom:
        if c.name in seen:
            what = ("overrides the same metric twice" if c.log_name is None
                    else "repeats a log_name")
            raise ValueError(f"custom_cfg {what}: {c.name!r} (for {seen[c.name]!r} and "
                             f"{c.data_src!r}); give each entry its own log_name")
        seen[c.name] = c.data_src
        if c.window_size == "epoch" and not by_epoch:
            raise ValueError(f"custom_cfg for {c.data_src!r}: window_size 'epoch' needs "
                             "by_epoch=True (there are no epochs to count in)")


def _plain(name: str) -> str:
    """A training metric's name in the line: MMEngine's ``train/`` prefix dropped."""
    return name[6:] if name.startswith("train/") else name


def _memory(device: torch.device | None) -> int | None:
    """MMEngine's ``memory``: the most CUDA memory allocated since the last line, in MB."""
    if device is None or device.type != "cuda":
        return None
    peak = torch.cuda.max_memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    return int(peak) // (1024 * 1024)
