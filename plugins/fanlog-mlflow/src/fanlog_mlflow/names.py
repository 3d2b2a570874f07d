"""Names and values the way MLflow accepts them, changed visibly rather than rejected.

MLflow rejects a whole ``log_batch`` for one bad key or one over-long value, so a single odd
metric name would otherwise lose every metric of that step. Its limits (mlflow 3.x,
``mlflow.utils.validation``) are copied here because importing MLflow costs ~2 s and these
helpers run before it is needed.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000

# The strictest of MLflow's key rules (image keys), so one cleaned key is valid everywhere:
# metric and param names, image keys and artifact paths.
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_\-./ ]")


def clean_key(key: str) -> str:
    """``key`` as a valid MLflow name: other characters become ``_``, and ``a//b``, ``/a``,
    ``a/`` or ``..`` parts (which MLflow refuses as path-like) are normalised."""
    parts = [p for p in _BAD_CHARS.sub("_", key).split("/") if p]
    return "/".join("_" if p in (".", "..") else p for p in parts) or "_"


class KeyCleaner:
    """Cleans keys and warns once per key that had to change."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __call__(self, key: str) -> str:
        cleaned = self._cache.get(key)
        if cleaned is None:
            cleaned = self._cache[key] = clean_key(key)
            if cleaned != key:
                warnings.warn(f"fanlog-mlflow: MLflow does not accept the name {key!r}; "
                              f"logging it as {cleaned!r}", stacklevel=3)
        return cleaned


def truncated(kind: str, key: str, value: Any, limit: int) -> str:
    """``str(value)`` cut to MLflow's ``limit``, with a warning when it had to be cut."""
    text = str(value)
    if len(text) > limit:
        warnings.warn(f"fanlog-mlflow: {kind} {key!r} is {len(text)} characters long; MLflow "
                      f"keeps at most {limit}, so it is truncated", stacklevel=3)
        text = text[:limit]
    return text


def step_file(folder: str, key: str, step: int | None, ext: str) -> str:
    """Run-relative artifact path for one keyed item: ``folder/key/step_000012.ext``, or
    ``folder/key.ext`` without a step (zero-padded so the UI lists steps in order)."""
    if step is None:
        return f"{folder}/{key}.{ext}"
    return f"{folder}/{key}/step_{step:06d}.{ext}"
