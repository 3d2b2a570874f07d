"""A tiny LightningModule for each Lightning package, on fixed random data (module-level
classes: ``ddp_spawn`` pickles the model)."""

from __future__ import annotations

from typing import Any

import lightning.pytorch
import pytorch_lightning
import torch
from torch.utils.data import DataLoader, TensorDataset


def loader(batches: int = 8) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batches * 4, 8, generator=g)
    return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=4)


def _define(base: type, name: str) -> type:
    class Tiny(base):  # type: ignore[misc, valid-type]
        """A linear regression that logs ``loss`` and ``double`` every step (and raises
        ``error`` at step ``fail_at``)."""

        def __init__(self, fail_at: int | None = None, lr: float = 0.05,
                     error: type[BaseException] = RuntimeError) -> None:
            super().__init__()
            self.save_hyperparameters({"lr": lr, "hidden": 8})
            self.fail_at, self.error = fail_at, error
            self.net = torch.nn.Linear(8, 1)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            if self.fail_at is not None and self.global_step == self.fail_at:
                raise self.error("the model fails")
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("loss", loss)
            self.log("double", loss * 2)
            return loss

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    Tiny.__name__ = Tiny.__qualname__ = name
    return Tiny


LightningTiny = _define(lightning.pytorch.LightningModule, "LightningTiny")
PLTiny = _define(pytorch_lightning.LightningModule, "PLTiny")


def tiny_module(base: type, **kwargs: Any) -> Any:
    """The tiny model for ``base``'s package."""
    cls = LightningTiny if issubclass(LightningTiny, base) else PLTiny
    return cls(**kwargs)


def trainer_kwargs(root: Any, **extra: Any) -> dict[str, Any]:
    """CPU, 2 epochs, every step logged; Lightning's default callbacks otherwise."""
    return {"max_epochs": 2, "log_every_n_steps": 1, "accelerator": "cpu", "devices": 1,
            "default_root_dir": str(root), "enable_progress_bar": False,
            "enable_model_summary": False, **extra}
