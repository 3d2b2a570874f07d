"""``FanLogger``: fanlog's fan-out as a Lightning logger (``lightning.pytorch``).

    trainer = lightning.pytorch.Trainer(logger=FanLogger(["csv", "mlflow"], save_dir="logs"))

Uses ``lightning.pytorch`` when the ``lightning`` package is installed, else
``pytorch_lightning`` (for a Trainer from the other package, import
:mod:`fanlog.integrations.pytorch_lightning`).
"""

from __future__ import annotations

import importlib.util

from fanlog.integrations._lightning import FanLoggerMixin
from fanlog.integrations._optional import missing

try:
    if importlib.util.find_spec("lightning") is not None:
        from lightning.pytorch.loggers import Logger
        from lightning.pytorch.loggers.logger import DummyExperiment
        from lightning.pytorch.utilities import rank_zero_only
    else:
        from pytorch_lightning.loggers import Logger
        from pytorch_lightning.loggers.logger import DummyExperiment
        from pytorch_lightning.utilities import rank_zero_only
except ImportError as exc:
    raise missing(__name__, "Lightning", "lightning", exc) from exc


class FanLogger(FanLoggerMixin, Logger):
    __doc__ = FanLoggerMixin.__doc__
    _rank_zero_only = staticmethod(rank_zero_only)
    _dummy_experiment = DummyExperiment


__all__ = ["FanLogger"]
