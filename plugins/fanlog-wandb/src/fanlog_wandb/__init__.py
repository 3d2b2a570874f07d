"""fanlog backend for Weights & Biases (logger name ``wandb``)."""

from fanlog_wandb.logger import WandbLogger

__all__ = ["WandbLogger"]
