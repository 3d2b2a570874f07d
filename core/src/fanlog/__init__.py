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

# The trainer's parts import torch: they load on first use, so `import fanlog` and the
# `fanlog` command stay fast.
_LAZY = {"Module": "fanlog.module", "Trainer": "fanlog.trainer",
         "LogProcessor": "fanlog.logprocessor", "log_scalar": "fanlog.hub",
         "current_hub": "fanlog.hub", "get_scalar": "fanlog.hub",
         "callbacks": "fanlog.callbacks"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        value = module if name == "callbacks" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fanlog' has no attribute {name!r}")


__all__ = [
    "BackendError",
    "ConfigError",
    "DuplicateLoggerError",
    "FanOut",
    "FanlogError",
    "LogProcessor",
    "Module",
    "Outlet",
    "PluginLoadError",
    "RunSummary",
    "Status",
    "Trainer",
    "UnknownLoggerError",
    "__version__",
    "callbacks",
    "current_hub",
    "get_scalar",
    "hookimpl",
    "log_scalar",
]
