"""``FanLogger`` for a ``pytorch_lightning.Trainer`` (the package of that name); the same
logger as :mod:`fanlog.integrations.lightning`."""

from __future__ import annotations

from fanlog.integrations._lightning import FanLoggerMixin
from fanlog.integrations._optional import missing

try:
    from pytorch_lightning.loggers import Logger
    from pytorch_lightning.loggers.logger import DummyExperiment
    from pytorch_lightning.utilities import rank_zero_only
except ImportError as exc:
    raise missing(__name__, "pytorch_lightning", "pytorch-lightning", exc) from exc


class FanLogger(FanLoggerMixin, Logger):
    __doc__ = FanLoggerMixin.__doc__
    _rank_zero_only = staticmethod(rank_zero_only)
    _dummy_experiment = DummyExperiment


__all__ = ["FanLogger"]
