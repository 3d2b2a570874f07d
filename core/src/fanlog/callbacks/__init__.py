"""Callbacks that ship with the trainer. A callback is a plain object whose methods named
like the hooks in :class:`fanlog.hookspecs.CallbackSpec` are called by the trainer (pluggy
checks their argument names); these are examples as much as tools."""

from fanlog.callbacks.checkpoint import ModelCheckpoint
from fanlog.callbacks.grad_norm import GradientNormMonitor
from fanlog.callbacks.lr_monitor import LearningRateMonitor
from fanlog.callbacks.progress import ProgressBar

__all__ = ["GradientNormMonitor", "LearningRateMonitor", "ModelCheckpoint", "ProgressBar"]
