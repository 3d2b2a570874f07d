"""Save checkpoints, keep the best ``top_k`` by a monitored metric, hand them to backends."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal


class ModelCheckpoint:
    """Save a checkpoint every ``every_n_epochs`` epochs (at the end of the training epoch,
    after validation) and/or every ``every_n_train_steps`` optimizer steps.

    With ``monitor``, only the ``save_top_k`` best by that metric are kept (``mode`` min or
    max; -1 keeps all); without, the latest ``save_top_k``. ``save_last`` also writes
    ``last.ckpt``. Each saved file also goes to the backends as an artifact with metadata
    ``kind="checkpoint"``. A checkpoint holds every backend's resume state, so
    ``Trainer.fit(..., ckpt_path=...)`` continues the same runs.
    """

    def __init__(self, dirpath: str | Path | None = None,
                 filename: str = "epoch={epoch}-step={step}", monitor: str | None = None,
                 mode: Literal["min", "max"] = "min", save_top_k: int = 1,
                 save_last: bool = False, every_n_epochs: int | None = 1,
                 every_n_train_steps: int | None = None) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if save_top_k < -1:
            raise ValueError(f"save_top_k must be -1 (all), 0 or more; got {save_top_k}")
        self.dirpath = Path(dirpath) if dirpath is not None else None
        self.filename, self.monitor, self.mode = filename, monitor, mode
        self.save_top_k, self.save_last = save_top_k, save_last
        self.every_n_epochs, self.every_n_train_steps = every_n_epochs, every_n_train_steps
        self.best_k_models: dict[str, float] = {}
        self.best_model_path = ""
        self.last_model_path = ""

    @property
    def state_key(self) -> str:
        return f"ModelCheckpoint[monitor={self.monitor},mode={self.mode}]"

    @property
    def best_model_score(self) -> float | None:
        return self.best_k_models.get(self.best_model_path)

    def on_train_batch_end(self, trainer: Any, module: Any) -> None:
        n = self.every_n_train_steps
        if n and trainer.stepped_this_batch and trainer.global_step % n == 0:
            self._save(trainer)

    def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
        n = self.every_n_epochs
        if n and (trainer.current_epoch + 1) % n == 0:
            self._save(trainer)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint.setdefault("callbacks", {})[self.state_key] = {
            "best_k_models": dict(self.best_k_models), "best_model_path": self.best_model_path,
            "last_model_path": self.last_model_path}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("callbacks", {}).get(self.state_key)
        if state:
            self.best_k_models = dict(state["best_k_models"])
            self.best_model_path = state["best_model_path"]
            self.last_model_path = state["last_model_path"]

    # -- saving ------------------------------------------------------------------------------
    def _save(self, trainer: Any) -> None:
        score = self._score(trainer)
        folder = self.dirpath or Path(trainer.default_root_dir) / "checkpoints"
        values = {k.replace("/", "_"): v for k, v in trainer.callback_metrics.items()}
        name = self.filename.format(epoch=trainer.current_epoch, step=trainer.global_step,
                                    **values)
        path = str(folder / f"{name}.ckpt")
        if self.save_top_k != 0 and self._better(score):
            self.best_k_models[path] = score
            if self.save_top_k > 0 and len(self.best_k_models) > self.save_top_k:
                worst = self._worst()
                del self.best_k_models[worst]
                trainer.remove_checkpoint(worst)
            self.best_model_path = min(self.best_k_models, key=self._rank)
            self._write(trainer, path, score)
        if self.save_last:
            self.last_model_path = str(folder / "last.ckpt")
            self._write(trainer, self.last_model_path, score)

    def _write(self, trainer: Any, path: str, score: float) -> None:
        trainer.save_checkpoint(path)
        metadata: dict[str, Any] = {"kind": "checkpoint", "epoch": trainer.current_epoch,
                                    "step": trainer.global_step}
        if self.monitor is not None:
            metadata.update(monitor=self.monitor, score=score)
        # What backends need for the one log_model policy (fanlog.backend.CheckpointUploads):
        # the best file, and which files this callback still keeps (the others were deleted).
        kept = [*self.best_k_models, *([self.last_model_path] if self.last_model_path else [])]
        metadata.update(best=path == self.best_model_path, best_path=self.best_model_path,
                        best_score=self.best_model_score, kept=kept, callback=self.state_key)
        trainer.log_artifact(path, metadata=metadata)

    def _score(self, trainer: Any) -> float:
        if self.monitor is None:
            return float(trainer.global_step)  # "latest first" for top-k without a metric
        metrics = trainer.callback_metrics
        if self.monitor not in metrics:
            raise ValueError(f"ModelCheckpoint(monitor={self.monitor!r}): no such metric was "
                             f"logged; logged metrics: {sorted(metrics)}")
        return float(metrics[self.monitor])

    def _key(self, score: float) -> float:
        """Smaller is better; NaN is worst."""
        if math.isnan(score):
            return math.inf
        return score if self.mode == "min" and self.monitor is not None else -score

    def _rank(self, path: str) -> float:
        return self._key(self.best_k_models[path])

    def _worst(self) -> str:
        return max(self.best_k_models, key=self._rank)

    def _better(self, score: float) -> bool:
        if self.save_top_k == -1 or len(self.best_k_models) < self.save_top_k:
            return True
        return self._key(score) < self._rank(self._worst())
