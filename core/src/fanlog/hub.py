"""The hub: the running trainer's metrics engine, reachable from anywhere.

Code deep inside a model (a ``forward``, a loss helper) records an intermediate scalar with
:func:`log_scalar` without a reference to the module or trainer, as MMEngine's
``MessageHub.get_current_instance().update_scalar(...)`` does. The value is logged exactly
as ``self.log`` would log it from the hook that is running (training_step: per step, and
shown in the text log without the ``train/`` prefix; validation: per epoch).
:func:`get_scalar` reads a metric's history back, as ``message_hub.get_scalar`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fanlog.metrics import History, MetricsEngine

_stack: list[MetricsEngine] = []


def current_hub() -> MetricsEngine | None:
    """The engine of the trainer that is running (None outside ``fit``/``validate``/``test``)."""
    return _stack[-1] if _stack else None


@contextmanager
def activated(engine: MetricsEngine) -> Iterator[MetricsEngine]:
    """Make ``engine`` the current hub for the duration of a run."""
    _stack.append(engine)
    try:
        yield engine
    finally:
        _stack.remove(engine)


def log_scalar(name: str, value: Any, **options: Any) -> None:
    """Record ``value`` under ``name`` in the running trainer, with ``self.log``'s options.

    Outside a trainer run it does nothing, so model code may call it unconditionally (in
    inference, say).
    """
    if _stack:
        _stack[-1].log(name, value, **options)


def get_scalar(name: str) -> History | None:
    """The history of a training metric of the running trainer (None if unknown), with
    every value logged so far: MMEngine's ``message_hub.get_scalar(name)``, whose
    ``mean(20)``, ``max()``, ``current()`` and ``statistics("mean", 20)`` it answers
    alike (over the last ``LogProcessor(history_size=...)`` values). ``name`` is the
    logged name; MMEngine's ``train/`` prefix may be added or left out. Values still on
    the device come to the host first (one transfer)::

        fanlog.get_scalar("train/loss").mean(20)   # the mean of the last 20 losses
    """
    if not _stack:
        return None
    histories = _stack[-1].latest_histories()
    for key in (name, name.removeprefix("train/"), f"train/{name}"):
        if key in histories:
            return histories[key]
    return None
