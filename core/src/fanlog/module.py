"""The user's model: a ``torch.nn.Module`` with Lightning's step methods and ``self.log``."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from fanlog.metrics import MetricsEngine, Reduce
    from fanlog.trainer import Trainer


class HParams(dict):
    """The captured hyperparameters; keys also read as attributes (``self.hparams.lr``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Module(torch.nn.Module):
    """Subclass it and write ``training_step`` and ``configure_optimizers`` (and, as needed,
    ``validation_step``, ``test_step`` and the ``on_*`` hooks); a :class:`fanlog.Trainer`
    runs it. ``self.log`` records metrics for every configured backend.
    """

    def __init__(self) -> None:
        super().__init__()
        self.hparams = HParams()
        self._trainer: Trainer | None = None
        self._engine: MetricsEngine | None = None
        self._warned_detached = False

    # -- what the user writes ----------------------------------------------------------------
    def training_step(self, batch: Any, batch_idx: int) -> Any:
        """Return the loss (a tensor, or a dict with ``"loss"``; None skips the batch)."""
        raise NotImplementedError(f"{type(self).__name__} must define training_step")

    def configure_optimizers(self) -> Any:
        """Return an optimizer, or ``{"optimizer": opt, "lr_scheduler": sched}`` where the
        scheduler may be a dict with ``scheduler``, ``interval`` ("epoch" or "step"),
        ``frequency`` and ``monitor`` (a logged metric, for ReduceLROnPlateau)."""
        raise NotImplementedError(f"{type(self).__name__} must define configure_optimizers")

    # validation_step(batch, batch_idx) and test_step(batch, batch_idx) are optional and
    # looked up by the trainer; the hooks below may log (defaults: on_epoch).
    def on_fit_start(self) -> None: ...
    def on_fit_end(self) -> None: ...
    def on_train_epoch_start(self) -> None: ...
    def on_train_epoch_end(self) -> None: ...
    def on_validation_epoch_start(self) -> None: ...
    def on_validation_epoch_end(self) -> None: ...
    def on_test_epoch_start(self) -> None: ...
    def on_test_epoch_end(self) -> None: ...

    # -- logging -----------------------------------------------------------------------------
    def log(self, name: str, value: Any, prog_bar: bool = False, logger: bool = True,
            on_step: bool | None = None, on_epoch: bool | None = None,
            reduce_fx: Reduce = "mean", sync_dist: bool = False, rank_zero_only: bool = False,
            batch_size: int | None = None) -> None:
        """Record a scalar (a number or a one-element tensor) as Lightning users know it.

        ``on_step``/``on_epoch`` default by hook (training: step; validation, test and
        epoch hooks: epoch); with both, the names get ``_step``/``_epoch`` suffixes.
        ``reduce_fx`` (mean, sum, max, min or a callable over the epoch's 1-D tensor of
        values) reduces the epoch; means are weighted by ``batch_size`` (default: the
        first dimension of the batch). ``prog_bar`` shows it in the progress bar,
        ``logger=False`` keeps it from the backends, ``sync_dist`` reduces across
        processes, ``rank_zero_only`` marks a value logged by rank 0 alone.
        """
        engine = self._engine
        if engine is None:
            self._warn_detached()
            return
        engine.log(name, value, prog_bar, logger, on_step, on_epoch, reduce_fx, sync_dist,
                   rank_zero_only, batch_size)

    def log_dict(self, dictionary: Mapping[str, Any], prog_bar: bool = False,
                 logger: bool = True, on_step: bool | None = None,
                 on_epoch: bool | None = None, reduce_fx: Reduce = "mean",
                 sync_dist: bool = False, rank_zero_only: bool = False,
                 batch_size: int | None = None) -> None:
        """:meth:`log` every item of ``dictionary`` with the same options."""
        for name, value in dictionary.items():
            self.log(name, value, prog_bar, logger, on_step, on_epoch, reduce_fx, sync_dist,
                     rank_zero_only, batch_size)

    def _warn_detached(self) -> None:
        if not self._warned_detached:
            self._warned_detached = True
            warnings.warn(f"{type(self).__name__}.log() called outside a Trainer run: the "
                          "value is not recorded (warned once)", stacklevel=3)

    def save_hyperparameters(self, *names: str, ignore: Iterable[str] | str = ()) -> None:
        """Capture the arguments of ``__init__`` (all, or only ``names``) as
        ``self.hparams``; they reach every backend's ``log_hyperparams`` and checkpoints."""
        ignore = {ignore} if isinstance(ignore, str) else set(ignore)
        captured: dict[str, Any] = {}
        frame = inspect.currentframe()
        frame = frame.f_back if frame else None
        frames = []
        while frame is not None and frame.f_code.co_name == "__init__" and (
                frame.f_locals.get("self") is self):
            frames.append(frame)
            frame = frame.f_back
        for init in reversed(frames):  # the most derived __init__ wins
            info = inspect.getargvalues(init)
            for arg in info.args[1:]:
                captured[arg] = info.locals[arg]
            if info.keywords:
                captured.update(info.locals[info.keywords])
        del frame, frames
        if names:
            missing = [n for n in names if n not in captured]
            if missing:
                raise ValueError(f"save_hyperparameters: {missing} are not arguments of "
                                 f"__init__ (arguments: {sorted(captured)})")
            captured = {n: captured[n] for n in names}
        self.hparams.update({k: v for k, v in captured.items() if k not in ignore})

    # -- where the run is ----------------------------------------------------------------------
    @property
    def trainer(self) -> Trainer:
        if self._trainer is None:
            raise RuntimeError(f"{type(self).__name__} is not attached to a Trainer")
        return self._trainer

    @property
    def loggers(self) -> list[Any]:
        """The backend instances of this run (empty on ranks other than 0); use
        ``.experiment`` on one for its native object."""
        return self._trainer.loggers if self._trainer is not None else []

    @property
    def logger(self) -> Any:
        """The first backend instance (None when there is none)."""
        loggers = self.loggers
        return loggers[0] if loggers else None

    @property
    def current_epoch(self) -> int:
        return self._trainer.current_epoch if self._trainer is not None else 0

    @property
    def global_step(self) -> int:
        return self._trainer.global_step if self._trainer is not None else 0

    @property
    def device(self) -> torch.device:
        first = next(self.parameters(), None)
        return first.device if first is not None else torch.device("cpu")
