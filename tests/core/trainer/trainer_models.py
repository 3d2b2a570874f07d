"""Small modules, data and callbacks shared by the trainer tests. Top-level (importable by
name) so that processes started with the ``spawn`` method can unpickle them."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from fanlog.module import Module


def dataset(n: int = 32, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return TensorDataset(x, x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1)


def loader(n: int = 32, batch_size: int = 4, **kw) -> DataLoader:
    return DataLoader(dataset(n), batch_size=batch_size, **kw)


class Regression(Module):
    """Linear regression that logs its loss per step and epoch, and a validation loss."""

    def __init__(self, lr: float = 0.05, scheduler: dict | None = None):
        super().__init__()
        self.save_hyperparameters()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(3, 1)

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("loss", loss, on_epoch=True, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_loss", torch.nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=self.hparams.lr)
        if self.hparams.scheduler is None:
            return optimizer
        kind = dict(self.hparams.scheduler)
        name = kind.pop("name")
        config = {k: kind.pop(k) for k in ("interval", "monitor", "frequency") if k in kind}
        scheduler = getattr(torch.optim.lr_scheduler, name)(optimizer, **kind)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, **config}}


def batch_value(x: torch.Tensor) -> torch.Tensor:
    """A per-batch number that depends on the data only (not on the model or the rank)."""
    return x.abs().sum(dim=1).mean()


class SyncMetrics(Regression):
    """Logs ``k`` data-only metrics with every reduction, synced across processes."""

    def __init__(self, k: int = 12):
        super().__init__()
        self.k = k

    def training_step(self, batch, batch_idx):
        x, _ = batch
        v = batch_value(x)
        reductions = ("mean", "sum", "max", "min")
        for i in range(self.k):
            self.log(f"m{i}", v + i, on_step=True, on_epoch=True, sync_dist=True,
                     reduce_fx=reductions[i % 4])
        return super().training_step(batch, batch_idx)

    def validation_step(self, batch, batch_idx):
        x, _ = batch
        self.log("val_value", batch_value(x), sync_dist=True)
        self.log("val_count", float(len(x)), reduce_fx="sum", sync_dist=True)


class CollectiveCounter:
    """Counts torch.distributed.all_reduce calls per optimizer step in each process and
    writes them to ``<folder>/collectives_rank<N>.json`` at the end of fit."""

    def __init__(self, folder: str):
        self.folder = folder

    def on_fit_start(self, trainer):
        import torch.distributed as dist

        self.counts: dict[int, int] = {}
        original = dist.all_reduce

        def counting(tensor, *args, **kwargs):
            step = trainer.global_step
            self.counts[step] = self.counts.get(step, 0) + 1
            return original(tensor, *args, **kwargs)

        self._restore = (dist, original)
        dist.all_reduce = counting

    def on_fit_end(self, trainer):
        dist, original = self._restore
        dist.all_reduce = original
        path = Path(self.folder) / f"collectives_rank{trainer.global_rank}.json"
        path.write_text(json.dumps(self.counts))
