"""FANLOG_TRACE=1 prints every hook call (fan-out and callbacks) to stderr; unset, nothing."""

from __future__ import annotations

import pytest

from fanlog import FanOut
from fanlog.testing import RecordingLogger
from fanlog.trainer import CallbackManager


class _Callback:
    def __init__(self) -> None:
        self.seen = 0

    def on_fit_start(self, trainer, module):
        self.seen += 1


def _fan() -> FanOut:
    return FanOut([RecordingLogger()], summary=False)


def test_trace_prints_each_logger_hook_call_with_its_arguments_and_backends(monkeypatch, capfd):
    monkeypatch.setenv("FANLOG_TRACE", "1")
    with _fan() as fan:
        fan.log_metrics({"loss": 0.5}, step=3)
        fan.state_dict()
    err = capfd.readouterr().err
    assert "fanlog.trace: loggers.log_metrics(metrics={'loss': 0.5}, step=3) -> [" in err
    assert "fanlog.trace: loggers.log_metrics returned in " in err
    assert "fanlog.trace: loggers.state_dict() -> [" in err and "] (synchronous)" in err
    assert "fanlog.trace: loggers.finalize(status=" in err


def test_trace_prints_callback_hooks_and_what_they_raise(monkeypatch, capfd):
    monkeypatch.setenv("FANLOG_TRACE", "1")
    callback = _Callback()
    CallbackManager([callback]).call("on_fit_start", {"trainer": None, "module": None})
    err = capfd.readouterr().err
    assert callback.seen == 1
    assert "fanlog.trace: callbacks.on_fit_start(trainer=None, module=None) -> [" in err
    assert "fanlog.trace: callbacks.on_fit_start returned in " in err


def test_trace_names_the_exception_a_hook_raised(monkeypatch, capfd):
    monkeypatch.setenv("FANLOG_TRACE", "1")

    class Broken:
        def on_fit_start(self, trainer, module):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        CallbackManager([Broken()]).call("on_fit_start", {"trainer": None, "module": None})
    assert "callbacks.on_fit_start raised RuntimeError: boom in " in capfd.readouterr().err


def test_no_trace_without_the_switch(monkeypatch, capfd):
    monkeypatch.setenv("FANLOG_TRACE", "0")
    with _fan() as fan:
        fan.log_metrics({"loss": 0.5}, step=3)
    CallbackManager([_Callback()]).call("on_fit_start", {"trainer": None, "module": None})
    assert "fanlog.trace" not in capfd.readouterr().err
