"""A tiny LightningModule for either Lightning package, on fixed random data."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset


def loader(batches: int = 8) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batches * 4, 8, generator=g)
    return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=4)


def tiny_module(base: type, fail_at: int | None = None, lr: float = 0.05,
                error: type[BaseException] = RuntimeError) -> Any:
    """A linear regression that logs ``loss`` and ``double`` every step (and raises
    ``error`` at step ``fail_at``)."""

    class Tiny(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.save_hyperparameters({"lr": lr, "hidden": 8})
            self.net = torch.nn.Linear(8, 1)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            if fail_at is not None and self.global_step == fail_at:
                raise error("the model fails")
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

    return Tiny()


def trainer_kwargs(root: Any, **extra: Any) -> dict[str, Any]:
    """CPU, 2 epochs, every step logged; Lightning's default callbacks otherwise."""
    return {"max_epochs": 2, "log_every_n_steps": 1, "accelerator": "cpu", "devices": 1,
            "default_root_dir": str(root), "enable_progress_bar": False,
            "enable_model_summary": False, **extra}
