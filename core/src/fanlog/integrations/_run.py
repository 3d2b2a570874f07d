"""Where an integration's run lives (save_dir/name/version) and the fan-out that logs it.

Every backend of the run is handed the same ``save_dir``, ``name`` and ``version`` (as run
defaults: a backend's own options still win), so csv and TensorBoard write into one
folder, the folder the framework's checkpoints go under. :func:`run_place` is the one
place the integrations ask for these; when the fan-out carries its own run identity,
this is the function to point at it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanlog.backend import claim_version, next_version
from fanlog.fanout import FanOut


@dataclass(frozen=True)
class RunPlace:
    """A run's name, version and folders, as Lightning's loggers name them."""

    save_dir: str
    name: str
    version: int | str

    @property
    def log_dir(self) -> str:
        """``save_dir/name/version_<n>`` (a string version is the folder name itself)."""
        folder = self.version if isinstance(self.version, str) else f"version_{self.version}"
        return str(Path(self.save_dir, self.name, folder))

    def run_defaults(self) -> dict[str, Any]:
        return {"save_dir": self.save_dir, "name": self.name, "version": self.version}


def run_place(save_dir: str | Path, name: str, version: int | str | None,
              claim: bool = True) -> RunPlace:
    """The run's place; ``version=None`` takes the next free ``version_<n>`` under
    ``save_dir/name``, claimed by creating its folder when ``claim`` (the process that
    logs), so that two runs started together never share one."""
    if version is None:
        root = Path(save_dir) / name
        version = claim_version(root) if claim else next_version(root)
    elif isinstance(version, bool) or not isinstance(version, int | str) or version == "":
        raise ValueError(f"version must be an int, a non-empty str or None, got {version!r}")
    return RunPlace(str(save_dir), name, version)


def check_options(options: Mapping[str, Any]) -> None:
    """Fail at construction, not at the first logging call, on an option FanOut lacks."""
    taken = set(inspect.signature(FanOut).parameters) - {"loggers", "run_defaults"}
    unknown = sorted(set(options) - taken)
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; FanOut's options: {sorted(taken)}")


def open_fanout(loggers: Any, place: RunPlace, options: Mapping[str, Any]) -> FanOut:
    """The fan-out for ``loggers`` (names, dicts, instances, or None: fanlog's config
    sources), every backend placed at ``place``; ``options`` are FanOut's own."""
    return FanOut(loggers, run_defaults=place.run_defaults(), **options)
