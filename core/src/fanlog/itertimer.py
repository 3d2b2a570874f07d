"""Iteration times for the text log (MMEngine's ``IterTimerHook``): ``data_time`` (waiting
for the loader) and ``time`` (the whole iteration, loading included) of every training,
validation and test batch, and the ETA: the mean iteration time so far times the
iterations left."""

from __future__ import annotations

from collections.abc import Callable

from fanlog.history import History

STAGES = ("train", "val", "test")


class IterTimer:
    """Times the iterations of each stage of one run on one ``clock``. The trainer calls
    :meth:`begin` when a stage's epoch (or pass) starts, :meth:`loaded` when a batch
    arrives and :meth:`finished` when its step is done; :meth:`restart` after work that is
    no iteration's (a validation inside the epoch)."""

    def __init__(self, history_size: int, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.histories = {stage: {"data_time": History(history_size, totals=True),
                                  "time": History(history_size, totals=True)}
                          for stage in STAGES}
        #: Per stage and name, the last value before this pass (MMEngine's epoch window
        #: over an evaluation pass spans one value more than the pass).
        self.previous: dict[str, dict[str, float]] = {stage: {} for stage in STAGES}
        self.stage = "train"
        self._t = 0.0
        self._train_seconds, self._train_count = 0.0, 0

    def begin(self, stage: str) -> None:
        """A new epoch of ``stage``: its epoch statistics restart."""
        self.stage = stage
        for name, history in self.histories[stage].items():
            if history.count:
                self.previous[stage][name] = history.current()
            history.epoch.reset()
        self._t = self.clock()

    def restart(self, stage: str) -> None:
        """Go on timing ``stage`` from now (after a validation inside the epoch, say)."""
        self.stage = stage
        self._t = self.clock()

    def loaded(self) -> None:
        self.histories[self.stage]["data_time"].update(self.clock() - self._t)

    def finished(self) -> None:
        now = self.clock()
        seconds = now - self._t
        self._t = now
        self.histories[self.stage]["time"].update(seconds)
        if self.stage == "train":
            self._train_seconds += seconds
            self._train_count += 1

    def eta(self, remaining: int | None) -> float | None:
        """Seconds left: the mean time of this fit's training iterations (of this pass,
        for an evaluation) times ``remaining`` iterations."""
        if remaining is None:
            return None
        if self.stage == "train":
            seconds, count = self._train_seconds, self._train_count
        else:
            epoch = self.histories[self.stage]["time"].epoch
            seconds, count = epoch.total, epoch.n
        return seconds / count * remaining if count else None
