"""Names and values the way MLflow accepts them, changed visibly rather than rejected.

MLflow rejects a whole ``log_batch`` for one bad key or one over-long value, so a single odd
metric name would otherwise lose every metric of that step. Only what MLflow refuses is
changed, and never two names into one. Its rules (mlflow 3.x, ``mlflow.utils.validation`` and
``MlflowClient.log_image``) are copied here because importing MLflow costs ~2 s and these
helpers run before it is needed; tests/plugins/mlflow checks them against MLflow's own.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000

#: Longest metric, param or tag name MLflow accepts (``MAX_ENTITY_KEY_LENGTH``).
MAX_KEY = 250
#: What MLflow refuses in metric, param and tag names (``validate_param_and_metric_name``,
#: POSIX): anything but word characters (Unicode: ``损失`` and ``ünï`` are fine), ``/ . - :``
#: and space.
NAME_BAD = re.compile(r"[^/\w.\- :]")
#: What ``MlflowClient.log_image`` refuses in an image key (ASCII only); also used for the
#: artifact paths of text and figures.
MEDIA_BAD = re.compile(r"[^A-Za-z0-9_\-./ ]")


def clean_key(key: str, bad: re.Pattern[str] = NAME_BAD) -> str:
    """``key`` with what MLflow refuses replaced by ``_``, and the ``a//b``, ``/a``, ``a/``
    or ``..`` parts it refuses as path-like normalised. A valid key comes back unchanged."""
    parts = [p for p in bad.sub("_", key).split("/") if p]
    return "/".join("_" if p in (".", "..") else p for p in parts)[:MAX_KEY] or "_"


class KeyCleaner:
    """Maps names to names MLflow accepts, never two onto one: a cleaned name that another
    name already has gets ``_2``, ``_3``, ... Warns once per renamed name, saying what to."""

    def __init__(self, bad: re.Pattern[str] = NAME_BAD,
                 renamed: dict[str, str] | None = None) -> None:
        self._bad = bad
        self._to: dict[str, str] = {}  # name -> MLflow name
        self._taken: set[str] = set()  # MLflow names in use
        for name, cleaned in (renamed or {}).items():  # a resumed run's earlier choices
            self._to[name] = cleaned
            self._taken.add(cleaned)

    @property
    def renamed(self) -> dict[str, str]:
        """The names that had to change, and what to (kept in the run's state)."""
        return {name: cleaned for name, cleaned in self._to.items() if name != cleaned}

    def __call__(self, key: str) -> str:
        found = self._to.get(key)
        return found if found is not None else self.many([key])[0]

    def many(self, keys: list[str]) -> list[str]:
        """Each of ``keys`` mapped; the ones valid as they are get their own name first."""
        new = [k for k in dict.fromkeys(keys) if k not in self._to]
        valid = [k for k in new if clean_key(k, self._bad) == k]
        for key in valid + [k for k in new if k not in valid]:
            self._assign(key)
        return [self._to[k] for k in keys]

    def _assign(self, key: str) -> None:
        base = cleaned = clean_key(key, self._bad)
        n = 1
        while cleaned in self._taken:
            n += 1
            suffix = f"_{n}"
            cleaned = base[:MAX_KEY - len(suffix)] + suffix
        self._to[key] = cleaned
        self._taken.add(cleaned)
        if cleaned != key:
            why = (f"MLflow does not accept the name {key!r}" if base != key
                   else f"the name {key!r} is another name's already")
            also = f" ({base!r} is another name's)" if base not in (key, cleaned) else ""
            warnings.warn(f"fanlog-mlflow: {why}; logging it as {cleaned!r}{also}",
                          stacklevel=4)


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
