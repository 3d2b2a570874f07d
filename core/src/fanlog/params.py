"""Hyperparameter helpers shared by backends: flat keys, plain values, ``hparams.yaml``."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def flatten(params: Mapping[str, Any], sep: str = "/") -> dict[str, Any]:
    """``{"opt": {"lr": 0.1}}`` -> ``{"opt/lr": 0.1}``; non-mapping values are kept as they are."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and value:
            for key, sub in value.items():
                walk(f"{prefix}{sep}{key}" if prefix else str(key), sub)
        else:
            flat[prefix] = value

    for key, value in params.items():
        walk(str(key), value)
    return flat


def to_plain(value: Any) -> Any:
    """Turn tensors, numpy scalars, paths, enums and namespaces into plain Python values, so a
    hyperparameter dict can cross to a worker thread and be written by any backend."""
    if isinstance(value, enum.Enum):
        return to_plain(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_plain(v) for v in value]
    if hasattr(value, "tolist") and callable(value.tolist):  # torch / numpy
        return to_plain(value.tolist())
    if hasattr(value, "__dict__") and type(value).__name__ == "Namespace":
        return to_plain(vars(value))
    return str(value)


def save_yaml(path: str | Path, params: Mapping[str, Any]) -> None:
    """Write ``hparams.yaml`` as Lightning's ``save_hparams_to_yaml`` does (PyYAML, sorted
    keys, block style), so it loads back equal with ``yaml.safe_load``; replaced
    atomically, so a crash never leaves half a file.

    Args:
        path: the file to write.
        params: plain values (see :func:`to_plain`).
    """
    import yaml  # PyYAML: imported by the backends that write the file, when they do

    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        yaml.safe_dump(dict(params), fh)
    os.replace(tmp, path)
