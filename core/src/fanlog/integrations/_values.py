"""Splitting the mixed dicts HF Transformers and Accelerate log into what fanlog sends:
numbers (and one-element tensors) as metrics, strings as text, nested dicts flattened."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from fanlog.params import flatten


def split(values: Mapping[str, Any], skipped: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(metrics, texts)``; any other value is left out with a warning, once per name
    (``skipped`` remembers the names already reported)."""
    metrics: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for key, value in flatten(values).items():
        if isinstance(value, str):
            texts[key] = value
        elif _is_scalar(value):
            metrics[key] = value
        elif key not in skipped:
            skipped.add(key)
            warnings.warn(f"fanlog: {key!r} is a {type(value).__name__}, not a number or a "
                          "string; it is not logged (warned once per name)", RuntimeWarning,
                          stacklevel=3)
    return metrics, texts


def _is_scalar(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if hasattr(value, "numel") and hasattr(value, "detach"):
        return value.numel() == 1
    return hasattr(value, "__float__") and getattr(value, "size", 1) == 1
