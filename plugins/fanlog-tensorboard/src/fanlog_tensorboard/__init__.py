"""fanlog's TensorBoard backend (logger name ``tensorboard``). Importing it imports neither
tensorboard nor torch: the writer starts with the first hook that needs it."""

from fanlog_tensorboard.logger import TensorBoardLogger

__all__ = ["TensorBoardLogger"]
