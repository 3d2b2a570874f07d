"""fanlog MLflow backend."""

from fanlog_mlflow.logger import MLFlowLogger

__all__ = ["MLFlowLogger"]
