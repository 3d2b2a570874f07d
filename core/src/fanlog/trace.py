"""``FANLOG_TRACE=1``: print every hook call to stderr as it happens — which hook, with which
arguments, to which backends or callbacks, how long it took and what it raised — so a plugin
author sees exactly what their implementation is handed (datasette's trace switch, built on
pluggy's hook-call monitoring)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import Any

import pluggy

ENV = "FANLOG_TRACE"
_WIDTH = 120  #: longest argument text printed; longer reprs are cut with "..."


def enabled() -> bool:
    """Whether ``FANLOG_TRACE`` asks for tracing (anything but empty, ``0`` or ``false``)."""
    return os.environ.get(ENV, "").strip().lower() not in ("", "0", "false", "no")


def install(pm: pluggy.PluginManager, label: str) -> None:
    """Trace every hook call of ``pm`` under ``label`` when ``FANLOG_TRACE`` is set.

    Args:
        pm: the plugin manager whose hook calls to print.
        label: what the lines call this manager, e.g. ``"loggers"`` or ``"callbacks"``.
    """
    if not enabled():
        return
    started: list[float] = []

    def before(hook: str, impls: list[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
        started.append(time.perf_counter())
        emit(f"{label}.{hook}({arguments(kwargs)}) -> {_names(impls)}")

    def after(outcome: Any, hook: str, impls: list[pluggy.HookImpl],
              kwargs: Mapping[str, Any]) -> None:
        took = (time.perf_counter() - started.pop()) * 1e3 if started else 0.0
        failure = outcome.exception
        end = f"raised {type(failure).__name__}: {failure}" if failure else "returned"
        emit(f"{label}.{hook} {end} in {took:.3f} ms")

    pm.add_hookcall_monitoring(before, after)


def emit(text: str) -> None:
    """Write one trace line to stderr (also used for calls made outside a plugin manager).

    Args:
        text: the line, without the ``fanlog.trace:`` prefix.
    """
    sys.stderr.write(f"fanlog.trace: {text}\n")
    sys.stderr.flush()


def arguments(kwargs: Mapping[str, Any]) -> str:
    """``kwargs`` as ``name=value, ...``, each value's repr cut to a readable width.

    Args:
        kwargs: a hook call's arguments.
    """
    return ", ".join(f"{k}={_short(v)}" for k, v in kwargs.items())


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _WIDTH else text[: _WIDTH - 3] + "..."


def _names(impls: list[pluggy.HookImpl]) -> str:
    # pluggy calls the last registered first; print them in the order they were registered
    return "[" + ", ".join(impl.plugin_name for impl in reversed(impls)) + "]"
