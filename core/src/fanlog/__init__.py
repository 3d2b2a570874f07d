"""fanlog: experiment logging for PyTorch where every backend is a plugin chosen by name and
fanned out so that no slow or broken backend can stall or kill a run."""

from fanlog.errors import (
    BackendError,
    ConfigError,
    DuplicateLoggerError,
    FanlogError,
    PluginLoadError,
    UnknownLoggerError,
)
from fanlog.fanout import FanOut, Outlet, RunSummary
from fanlog.hookspecs import hookimpl
from fanlog.status import Status

__version__ = "0.1.0"
__all__ = [
    "BackendError",
    "ConfigError",
    "DuplicateLoggerError",
    "FanOut",
    "FanlogError",
    "Outlet",
    "PluginLoadError",
    "RunSummary",
    "Status",
    "UnknownLoggerError",
    "__version__",
    "hookimpl",
]
