"""Log each optimizer's learning rate (and momentum) as it changes under the scheduler."""

from __future__ import annotations

from typing import Any, Literal


class LearningRateMonitor:
    """Logs ``lr-<Optimizer>`` (``lr-<Optimizer>/pg<N>`` with several parameter groups)
    at every logging step (``logging_interval="step"``) or once per epoch ("epoch"), with
    ``-momentum`` companions when ``log_momentum``."""

    def __init__(self, logging_interval: Literal["step", "epoch"] = "step",
                 log_momentum: bool = False) -> None:
        if logging_interval not in ("step", "epoch"):
            raise ValueError(f"logging_interval must be 'step' or 'epoch', got "
                             f"{logging_interval!r}")
        self.logging_interval = logging_interval
        self.log_momentum = log_momentum

    def on_train_batch_start(self, trainer: Any, module: Any) -> None:
        if self.logging_interval == "step" and trainer.logging_this_step:
            self._log(trainer, module, on_step=True, on_epoch=False)

    def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
        if self.logging_interval == "epoch":
            self._log(trainer, module, on_step=False, on_epoch=True)

    def _log(self, trainer: Any, module: Any, **options: bool) -> None:
        for optimizer in trainer.optimizers:
            base = f"lr-{type(optimizer).__name__}"
            groups = optimizer.param_groups
            for i, group in enumerate(groups):
                name = base if len(groups) == 1 else f"{base}/pg{i + 1}"
                module.log(name, float(group["lr"]), **options)
                if self.log_momentum:
                    momentum = group.get("momentum", group.get("betas", (None,))[0])
                    if momentum is not None:
                        module.log(f"{name}-momentum", float(momentum), **options)
