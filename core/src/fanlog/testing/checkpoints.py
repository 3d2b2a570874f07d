"""A real fit whose ``ModelCheckpoint`` rotates files out, to check a backend's ``log_model``
handling (:class:`fanlog.backend.CheckpointUploads`) end to end."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The scores of :func:`fit_with_checkpoints`' epochs: epoch 0 is saved, epoch 1 beats it (so
#: epoch 0's file is deleted), epoch 2 is worse and not saved.
SCORES = (3.0, 1.0, 2.0)


def fit_with_checkpoints(backend: Any, root: str | Path,
                         scores: Sequence[float] = SCORES) -> Any:
    """Fit a tiny model for ``len(scores)`` epochs with ``backend`` as the only logger and a
    ``ModelCheckpoint(monitor="score", save_top_k=1)``; epoch ``i`` logs ``scores[i]``.
    Returns the ModelCheckpoint (``best_model_path``, ``best_model_score``)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from fanlog import Module, Trainer
    from fanlog.callbacks import ModelCheckpoint

    values = iter(scores)

    class Scored(Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.net = torch.nn.Linear(2, 1)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            x, y = batch
            return torch.nn.functional.mse_loss(self.net(x), y)

        def on_train_epoch_end(self) -> None:
            self.log("score", next(values))

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    data = TensorDataset(torch.randn(4, 2), torch.randn(4, 1))
    checkpoint = ModelCheckpoint(monitor="score", save_top_k=1)
    trainer = Trainer(default_root_dir=str(root), max_epochs=len(scores), loggers=[backend],
                      logger_options={"summary": False}, callbacks=[checkpoint],
                      enable_progress_bar=False, log_every_n_steps=1)
    trainer.fit(Scored(), DataLoader(data, batch_size=2))
    return checkpoint
