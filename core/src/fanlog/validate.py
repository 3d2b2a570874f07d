"""What may be logged, checked where the user makes the call: metric and media names,
scalar values, and the ``name``/``version`` folders a backend creates under ``save_dir``.

Every rule lives here once, so a bad name or value fails at the call (or at the backend's
construction) naming the culprit, instead of fencing a backend later on its worker thread.
"""

from __future__ import annotations

import os
from typing import Any

#: The csv step column and every backend's step argument: a metric cannot take its name.
STEP = "step"
_GOOD_KEYS: set[str] = set()  # names already checked (the check then costs one lookup)
_MAX_CACHED = 100_000


def key(name: Any, what: str = "key") -> str:
    """``name`` as a metric or media key: a non-empty str, UTF-8 encodable (no lone
    surrogate halves), without NUL. Raises TypeError/ValueError naming it.

    Args:
        name: the key the user passed.
        what: how to call it in the error ("metric name", "key").
    """
    if name.__class__ is str and name in _GOOD_KEYS:
        return name
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a non-empty string, got {type(name).__name__} "
                        f"{name!r:.60}")
    if not name:
        raise ValueError(f"{what} must be a non-empty string, got ''")
    if "\x00" in name:
        raise ValueError(f"{what} {name!r:.80} contains a NUL character, which no backend "
                         "can store")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"{what} {name!r:.80} is not valid text (a lone surrogate at "
                         f"index {err.start}); pass the decoded string") from None
    if name.__class__ is str and len(_GOOD_KEYS) < _MAX_CACHED:
        _GOOD_KEYS.add(name)
    return name


def metric_name(name: Any) -> str:
    """A key for ``log_metrics``: :func:`key`'s rules, and not ``step`` (every backend
    takes the step as the step itself; pass it as ``step=``)."""
    key(name, "metric name")
    if name == STEP:
        raise ValueError("metric name 'step' is reserved: the step is the row's step "
                         "(log_metrics(metrics, step=...)); rename the metric")
    return name


def number(where: str, value: Any) -> float:
    """A non-tensor scalar as a float: Python and numpy numbers, one-element arrays.
    Complex values, text and numbers beyond float range are refused.

    Args:
        where: the call, for the error (``"self.log('loss')"``, ``"metric 'loss'"``).
        value: what was logged.
    """
    kind = value.__class__
    if kind is float:
        return value
    if isinstance(value, str | bytes):
        raise TypeError(f"{where} must be a number, not text (got {value!r:.40}): strings "
                        "cannot be logged as metrics; use log_text")
    if isinstance(value, complex) or getattr(getattr(value, "dtype", None), "kind", "") == "c":
        raise TypeError(f"{where} must be a real number, got the complex {value!r:.40}; log "
                        "its .real, .imag or abs() instead")
    if hasattr(value, "dtype") and hasattr(value, "item"):  # numpy scalars and arrays
        if getattr(value, "size", 1) != 1:
            raise TypeError(f"{where} must be a number or a one-element tensor, got an array "
                            f"of shape {getattr(value, 'shape', '?')}")
        value = value.item()
    elif not hasattr(value, "__float__"):
        raise TypeError(f"{where} must be a number or a one-element tensor, got "
                        f"{kind.__name__} {value!r:.50}")
    try:
        return float(value)
    except OverflowError:
        raise OverflowError(f"{where}: {value!r:.24}... is too large for a float (beyond "
                            "about 1.8e308)") from None
    except (TypeError, ValueError) as err:
        raise TypeError(f"{where} must be a number, got {kind.__name__} {value!r:.50} "
                        f"({err})") from None


def tensor_problem(value: Any) -> str | None:
    """Why a tensor cannot be logged as a scalar (None: it can)."""
    if value.is_meta:
        return "is on the meta device (it holds no value to log)"
    if value.is_complex():
        return f"is complex ({value.dtype}); log its .real, .imag or .abs() instead"
    if value.numel() != 1:
        return (f"must be a scalar, got a tensor of shape {tuple(value.shape)}; reduce it "
                "first (e.g. .mean())")
    return None


def folder(option: str, value: Any) -> Any:
    """``value`` as a run folder below ``save_dir`` (a backend's ``name``, ``version`` or
    ``sub_dir``): no NUL, not absolute, no ``..`` part, so nothing is written outside
    ``save_dir``. None and ints pass unchanged.

    Args:
        option: the option's name, for the error.
        value: the folder (str or path), an int version, or None.
    """
    if value is None or isinstance(value, int):
        return value
    text = os.fspath(value)
    if "\x00" in text:
        raise ValueError(f"{option}={text!r} contains a NUL character")
    if os.path.isabs(text):
        raise ValueError(f"{option}={text!r} is an absolute path: it must be a folder name "
                         "inside save_dir (put the location in save_dir)")
    if ".." in text.replace("\\", "/").split("/"):
        raise ValueError(f"{option}={text!r} has a '..' part that leads outside save_dir")
    return value
