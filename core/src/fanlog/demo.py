"""``fanlog demo``: the README's main job. A small regression model trained by
:class:`fanlog.Trainer`, logging through the fan-out to the embedded defaults that are
installed (console, csv, TensorBoard, MLflow on SQLite), then where each one wrote and how
to open it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fanlog.config import cli_namespace
from fanlog.plugins import discover

DEMO_LOGGERS = ("console", "csv", "tensorboard", "mlflow")


def default_loggers() -> list[str]:
    """The embedded defaults that are installed here, in fan-out order."""
    installed = set(discover().plugins)
    return [name for name in DEMO_LOGGERS if name in installed]


def _model_class() -> type:
    import torch

    from fanlog import Module

    class DemoRegression(Module):
        """A two-layer MLP fitting y = x·w + noise; logs loss and MAE."""

        def __init__(self, hidden: int = 32, lr: float = 0.05) -> None:
            super().__init__()
            self.save_hyperparameters()
            torch.manual_seed(0)
            self.net = torch.nn.Sequential(torch.nn.Linear(8, hidden), torch.nn.ReLU(),
                                           torch.nn.Linear(hidden, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x).squeeze(1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self(x), y)
            self.log("train/loss", loss, on_epoch=True, prog_bar=True)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            pred = self(x)
            self.log("val/loss", torch.nn.functional.mse_loss(pred, y), prog_bar=True)
            self.log("val/mae", (pred - y).abs().mean())

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=self.hparams["lr"])
            return {"optimizer": opt,
                    "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)}

    return DemoRegression


def _loaders(n: int = 1024) -> tuple:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g)
    y = x @ torch.randn(8, generator=g) + 0.1 * torch.randn(n, generator=g)
    split = n * 3 // 4
    return (DataLoader(TensorDataset(x[:split], y[:split]), batch_size=32, shuffle=True,
                       generator=g),
            DataLoader(TensorDataset(x[split:], y[split:]), batch_size=64))


def run_demo(args: argparse.Namespace, argv: list[str]) -> int:
    from fanlog import Trainer
    from fanlog.callbacks import LearningRateMonitor, ModelCheckpoint

    names, _ = cli_namespace(args)
    save_dir = Path(args.save_dir).resolve()
    trainer = Trainer(
        max_epochs=args.epochs, log_every_n_steps=args.log_every,
        loggers=None if names is not None else default_loggers(),
        logger_options={"cli_args": argv}, default_root_dir=save_dir,
        callbacks=[LearningRateMonitor(), ModelCheckpoint(monitor="val/loss")],
        enable_checkpointing=True, enable_progress_bar=args.progress_bar)
    train, val = _loaders()
    trainer.fit(_model_class()(), train, val)
    print(f"\nLogs under {save_dir}:")
    for name, backend in zip(trainer.fan.backends, trainer.loggers, strict=True):
        print(f"  {name}: {_how_to_open(name, backend)}")
    summary = trainer.fan.summary
    return 0 if summary.complete else 1


def _how_to_open(name: str, backend: Any) -> str:
    if name == "tensorboard":
        return f"tensorboard --logdir {Path(backend.log_dir).parent}"
    if name == "mlflow":
        return f"mlflow ui --backend-store-uri {backend.tracking_uri}"
    if name == "csv":
        return str(backend.metrics_file)
    if name == "console":
        return "printed above (and in run.log)"
    return str(getattr(backend, "log_dir", getattr(backend, "experiment", "")))
