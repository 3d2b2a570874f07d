"""Running statistics and the recent values of one metric (MMEngine's ``HistoryBuffer``).

:class:`History` answers what MMEngine's ``HistoryBuffer`` answers (``mean(20)``,
``max()``, ``current()``, ``statistics("mean", 20)``) for as many recent values as it keeps
(``maxlen``); asked about more, when more were seen, it says so instead of answering about
fewer. With ``totals`` it also keeps statistics over the epoch and the whole run, whatever
their length.
"""

from __future__ import annotations

import math
from collections import deque
from itertools import islice


class Stats:
    """Running statistics of a stream of floats: weighted total, count, extremes.
    NaN sticks in max/min as it does in the mean (logged as a value, never skipped)."""

    __slots__ = ("max", "min", "n", "total", "weight")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total, self.weight, self.n = 0.0, 0.0, 0
        self.max, self.min = -math.inf, math.inf

    def add(self, value: float, weight: float = 1.0) -> None:
        self.total += value * weight
        self.weight += weight
        self.n += 1
        if value > self.max or value != value:
            self.max = value
        if value < self.min or value != value:
            self.min = value

    def result(self, reduce: str) -> float:
        if reduce == "mean":
            return self.total / self.weight if self.weight else math.nan
        if reduce == "sum":
            return self.total
        return self.max if reduce == "max" else self.min


class History:
    """The last ``maxlen`` values of one metric and how many were seen; with ``totals``,
    statistics over the epoch and the whole run (kept only when asked for: they cost per
    value)."""

    __slots__ = ("count", "epoch", "run", "window")

    def __init__(self, maxlen: int, totals: bool = False) -> None:
        self.window: deque[float] = deque(maxlen=maxlen)
        self.count = 0
        self.epoch = Stats() if totals else None
        self.run = Stats() if totals else None

    def update(self, value: float) -> None:
        self.window.append(value)
        self.count += 1
        if self.epoch is not None:
            self.epoch.add(value)
            self.run.add(value)

    def statistic(self, method: str, window: int | str | None) -> float:
        """``method`` (mean, min, max, current) over the last ``window`` values (None, or
        more than were seen: all of them, as MMEngine), or over ``"epoch"`` or
        ``"global"`` (the whole run)."""
        if method == "current":
            return self.window[-1] if self.window else math.nan
        if window in ("epoch", "global"):
            if self.epoch is None:
                raise ValueError("epoch and global statistics need History(totals=True)")
            return (self.epoch if window == "epoch" else self.run).result(method)
        want = self.count if window is None else min(window, self.count)
        kept = len(self.window)
        if want > kept:
            if want == self.count and self.run is not None:
                return self.run.result(method)
            raise ValueError(
                f"a statistic over {want} values, but only the last {kept} of {self.count} "
                "are kept; keep more with LogProcessor(history_size=...)")
        if not want:
            return math.nan
        values = self.window if want == kept else list(islice(reversed(self.window), want))
        if method == "mean":
            return math.fsum(values) / want
        return max(values) if method == "max" else min(values)

    # -- MMEngine's HistoryBuffer API ------------------------------------------------------
    def mean(self, window_size: int | None = None) -> float:
        return self.statistic("mean", window_size)

    def max(self, window_size: int | None = None) -> float:
        return self.statistic("max", window_size)

    def min(self, window_size: int | None = None) -> float:
        return self.statistic("min", window_size)

    def current(self) -> float:
        return self.statistic("current", None)

    def statistics(self, method_name: str, window_size: int | None = None) -> float:
        """``HistoryBuffer.statistics``: ``method_name`` over the last ``window_size``."""
        return self.statistic(method_name, window_size)
