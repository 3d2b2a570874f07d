"""A tqdm progress bar showing the ``prog_bar`` metrics, with tqdm's ETA."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class ProgressBar:
    """One bar per training epoch (kept) and one per validation pass (cleared), on rank 0.

    The metrics shown are refreshed at most every ``refresh_seconds``: each refresh reads
    the step's ``prog_bar`` values from the device in one transfer, so a fast loop is not
    slowed by the bar.
    """

    def __init__(self, refresh_seconds: float = 0.5, file: TextIO | None = None) -> None:
        from tqdm.auto import tqdm  # a missing tqdm fails here, when the bar is asked for

        self._tqdm = tqdm
        self.refresh_seconds = refresh_seconds
        self.file = file
        self.train_bar: Any = None
        self.val_bar: Any = None
        self._shown = 0.0

    def _bar(self, total: int | None, desc: str, leave: bool) -> Any:
        return self._tqdm(total=total, desc=desc, leave=leave, dynamic_ncols=True,
                          file=self.file or sys.stderr, smoothing=0.1)

    def on_train_epoch_start(self, trainer: Any) -> None:
        if trainer.is_global_zero:
            self._close()
            self.train_bar = self._bar(trainer.num_training_batches,
                                       f"Epoch {trainer.current_epoch}", leave=True)
            self._shown = time.monotonic()

    def on_train_batch_end(self, trainer: Any) -> None:
        if self.train_bar is None:
            return
        self.train_bar.update(1)
        now = time.monotonic()
        if now - self._shown >= self.refresh_seconds:
            self._shown = now
            trainer.engine.refresh_step()
            self.train_bar.set_postfix(trainer.progress_bar_metrics, refresh=False)

    def on_validation_epoch_start(self, trainer: Any) -> None:
        if trainer.is_global_zero:
            self.val_bar = self._bar(trainer.num_val_batches, "Validation",
                                     leave=self.train_bar is None)

    def on_validation_batch_end(self, trainer: Any) -> None:
        if self.val_bar is not None:
            self.val_bar.update(1)

    def on_validation_epoch_end(self, trainer: Any) -> None:
        if self.val_bar is not None:
            self.val_bar.close()
            self.val_bar = None
        if self.train_bar is not None:
            self.train_bar.set_postfix(trainer.progress_bar_metrics)

    def on_train_epoch_end(self, trainer: Any) -> None:
        if self.train_bar is not None:
            self.train_bar.set_postfix(trainer.progress_bar_metrics)
        self._close()

    def on_fit_end(self) -> None:
        self._close()

    def on_exception(self) -> None:
        self._close()

    def _close(self) -> None:
        for bar in (self.val_bar, self.train_bar):
            if bar is not None:
                bar.close()
        self.train_bar = self.val_bar = None

    def __getstate__(self) -> dict[str, Any]:  # bars are not picklable; spawned ranks start fresh
        state = dict(self.__dict__, train_bar=None, val_bar=None)
        state.pop("_tqdm")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        from tqdm.auto import tqdm

        self.__dict__.update(state, _tqdm=tqdm)
