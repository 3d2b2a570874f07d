"""The fan-out: non-blocking delivery, order, isolation of failures, policies, finalize."""

from __future__ import annotations

import logging
import math
import threading

import numpy as np
import pluggy
import pytest
import torch

from fanlog import BackendError, FanOut, Status
from fanlog.testing import RecordingLogger
from tests.core.backends import Gated, HangingFinalize, MetricsOnly, Raising


def make(*backends, **kw):
    kw.setdefault("summary", False)
    return FanOut(list(backends), **kw)


def test_caller_returns_while_backend_is_blocked():
    gated, fast = Gated(), RecordingLogger()
    run = make(gated, fast)
    for step in range(100):
        run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    # every call returned although the gated backend has not handled even one
    assert gated.metrics == []
    assert run.flush(timeout=0) is False
    gated.gate.set()
    assert run.flush(timeout=10)
    assert [s for s, _ in gated.metrics] == list(range(100))
    assert gated.metrics == fast.metrics
    run.finalize()


def test_order_kept_per_backend_and_fanout_follows_config_order():
    a, b = RecordingLogger(), RecordingLogger()
    run = make(a, b)
    assert run.backends == {"recordinglogger": a, "recordinglogger-2": b}
    for step in range(500):
        run.log_metrics({"x": step}, step=step)
        if step % 50 == 0:
            run.log_text("note", f"at {step}", step)
    run.finalize()
    for backend in (a, b):
        hooks = [h for h, _ in backend.calls if h in ("log_metrics", "log_text")]
        assert len(hooks) == 510
        assert [kw["step"] for kw in backend.of("log_metrics")] == list(range(500))
        assert backend.threads == {f"fanlog-{name}" for name, be in run.backends.items()
                                   if be is backend}


def test_backend_runs_on_its_own_worker_thread():
    rec = RecordingLogger()
    run = make(rec)
    run.log_metrics({"a": 1}, step=0)
    run.finalize()
    assert threading.current_thread().name not in rec.threads
    assert len(rec.threads) == 1


def test_raising_backend_is_fenced_and_others_keep_every_value(caplog):
    bad, good = Raising(), RecordingLogger()
    run = FanOut([bad, good], summary=False)
    with caplog.at_level(logging.ERROR, logger="fanlog"):
        for step in range(200):
            run.log_metrics({"loss": float(step)}, step=step)
        summary = run.finalize(Status.SUCCESS)
    assert [s for s, _ in good.metrics] == list(range(200))
    reports = [r for r in caplog.records if "fenced off" in r.getMessage()]
    assert len(reports) == 1 and "raising" in reports[0].getMessage()
    stats = summary.backends["raising"]
    assert (stats.received, stats.errors, stats.state) == (201, 1, "failed")
    assert stats.delivered == 1  # finalize still reaches a fenced backend (files get closed)
    assert bad.finalized == [Status.SUCCESS]
    assert summary.backends["recordinglogger"].lost == 0
    assert not summary.complete


def test_on_error_raise_at_end():
    bad, good = Raising(), RecordingLogger()
    run = FanOut([bad, good], on_error="raise_at_end", summary=False)
    for step in range(10):
        run.log_metrics({"x": step}, step=step)
    with pytest.raises(BackendError, match="raising: RuntimeError: boom at step 0"):
        run.finalize()
    assert len(good.metrics) == 10 and good.finalized


def test_on_error_raise_at_once():
    bad, good = Raising(), RecordingLogger()
    run = FanOut([bad, good], on_error="raise", summary=False)
    run.log_metrics({"x": 0}, step=0)
    run.flush()
    with pytest.raises(BackendError, match="boom"):
        run.log_metrics({"x": 1}, step=1)
    run.log_metrics({"x": 2}, step=2)  # reported once, then the run goes on
    run.finalize(_raise=False)
    assert [s for s, _ in good.metrics] == [0, 2]


def test_full_queue_drop_policy_counts_what_it_drops(caplog):
    gated = Gated()
    run = make(gated, queue_size=5, full_policy="drop")
    run.log_metrics({"x": 0}, step=0)
    assert gated.started.wait(5)
    with caplog.at_level(logging.WARNING, logger="fanlog"):
        for step in range(1, 10):
            run.log_metrics({"x": step}, step=step)
    assert sum("cannot keep up" in r.getMessage() for r in caplog.records) == 1
    gated.gate.set()
    summary = run.finalize()
    stats = summary.backends["gated"]
    assert [s for s, _ in gated.metrics] == [0, 1, 2, 3, 4, 5]
    assert (stats.received, stats.dropped) == (11, 4)
    assert stats.delivered == 7  # 6 metric calls + finalize


def test_full_queue_wait_policy_loses_nothing():
    gated = Gated()
    run = make(gated, queue_size=3, full_policy="wait")
    run.log_metrics({"x": 0}, step=0)
    assert gated.started.wait(5)
    threading.Timer(0.2, gated.gate.set).start()
    for step in range(1, 50):
        run.log_metrics({"x": step}, step=step)  # waits for room, never drops
    summary = run.finalize()
    assert [s for s, _ in gated.metrics] == list(range(50))
    assert summary.backends["gated"].dropped == 0


def test_hung_backend_is_fenced_under_wait_policy_and_others_go_on():
    gated, good = Gated(), RecordingLogger()
    run = make(gated, good, queue_size=2, full_policy="wait", hang_timeout=0.3,
               finalize_timeout=0.5)
    for step in range(20):
        run.log_metrics({"x": step}, step=step)
    summary = run.finalize()
    gated.gate.set()
    assert summary.backends["gated"].state == "hung"
    assert summary.backends["gated"].dropped > 0
    assert [s for s, _ in good.metrics] == list(range(20))


def test_finalize_has_a_time_limit():
    slow, good = HangingFinalize(), RecordingLogger()
    run = make(slow, good, finalize_timeout=0.3)
    run.log_metrics({"x": 1}, step=0)
    summary = run.finalize()
    assert summary.backends["hangingfinalize"].state == "timed out"
    assert good.finalized == [Status.SUCCESS]
    assert run.finalize() is summary  # idempotent


@pytest.mark.parametrize(("exc", "status"), [
    (None, Status.SUCCESS), (RuntimeError("x"), Status.FAILED),
    (KeyboardInterrupt(), Status.INTERRUPTED)])
def test_context_manager_finalizes_with_the_right_status(exc, status):
    rec = RecordingLogger()
    with pytest.raises(type(exc)) if exc else _nothing(), FanOut([rec], summary=False) as run:
        run.log_metrics({"x": 1}, step=0)
        if exc:
            raise exc
    assert rec.finalized == [status]
    assert run.status == status.value


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_unsupported_hook_warns_once_per_backend():
    only = MetricsOnly()
    rec = RecordingLogger()
    run = make(only, rec)
    with pytest.warns(UserWarning, match="'metricsonly' does not support log_text") as record:
        for i in range(5):
            run.log_text("k", "hello", i)
    assert len([w for w in record if "log_text" in str(w.message)]) == 1
    run.finalize()
    assert len(rec.of("log_text")) == 5


def test_artifacts_that_stay_on_disk_need_no_warning(recwarn, tmp_path):
    only, rec = MetricsOnly(), RecordingLogger()
    run = make(only, rec)
    run.log_artifact(tmp_path, "ckpt", {"kind": "checkpoint"}, warn_unsupported=False)
    run.finalize()
    assert not [w for w in recwarn if "does not support" in str(w.message)]
    assert rec.of("log_artifact")[0]["name"] == "ckpt"


def test_misspelled_hook_argument_is_an_error_naming_the_plugin():
    class Typo:
        def log_metrics(self, metrics, stpe):
            pass

    with pytest.raises(pluggy.PluginValidationError) as info:
        FanOut([Typo()], summary=False)
    message = str(info.value)
    assert "'typo'" in message and "stpe" in message and "log_metrics" in message


def test_misspelled_hook_name_is_warned_about():
    class Typo:
        def log_metric(self, metrics, step):
            pass

        def log_metrics_now(self):
            pass

    with pytest.warns(UserWarning, match="'log_metric' that is not a hook; did you mean "
                      "'log_metrics'"):
        FanOut([Typo()], summary=False).finalize()


def test_backend_may_take_a_subset_of_arguments_and_defaults():
    class Partial:
        def __init__(self):
            self.got = []

        def log_metrics(self, metrics, step=None, extra="kept"):
            self.got.append((step, metrics, extra))

        def log_text(self, text):
            self.got.append(text)

    p = Partial()
    run = make(p)
    run.log_metrics({"a": 1}, step=7)
    run.log_text("k", "hello", 3)
    run.finalize()
    assert p.got == [(7, {"a": 1.0}, "kept"), "hello"]


def test_sync_hooks_respect_subset_signatures():
    class Small:
        def __init__(self):
            self.seen = []

        def log_graph(self, model):
            self.seen.append(model)

        def state_dict(self):
            return {"step": 1}

        def load_state_dict(self, state):
            self.seen.append(state)

    small = Small()
    run = make(small)
    run.log_graph("model", "input")
    run.load_state_dict({"small": {"step": 1}})
    assert run.state_dict() == {"small": {"step": 1}}
    run.finalize()
    assert small.seen == ["model", {"step": 1}]


def test_values_reach_workers_as_plain_numbers_and_cpu_arrays():
    rec = RecordingLogger()
    run = make(rec)
    w = torch.ones(3, requires_grad=True)
    run.log_metrics({"t": (w * 2).sum(), "i": 3, "np": np.float32(0.5), "b": True,
                     "int_t": torch.tensor(4), "half": torch.tensor(1.5, dtype=torch.bfloat16)},
                    step=0)
    run.log_image("img", torch.zeros(3, 4, 5), step=0)
    run.log_histogram("h", torch.arange(10.0).reshape(2, 5), step=0)
    run.log_audio("a", torch.zeros(100), step=0, sample_rate=8000)
    run.finalize()
    (_step, metrics), = rec.metrics
    assert metrics == {"t": 6.0, "i": 3.0, "np": 0.5, "b": 1.0, "int_t": 4.0, "half": 1.5}
    assert all(type(v) is float for v in metrics.values())
    media = (("log_image", "image"), ("log_histogram", "values"), ("log_audio", "audio"))
    for hook, field in media:
        value = rec.of(hook)[0][field]
        assert isinstance(value, np.ndarray), hook
    assert rec.of("log_histogram")[0]["values"].shape == (10,)


def test_media_are_copies_so_later_changes_do_not_leak():
    rec = RecordingLogger()
    run = make(rec)
    image = np.zeros((4, 4), dtype=np.uint8)
    run.log_image("img", image, dataformats="HW")
    image[:] = 255
    run.finalize()
    assert rec.of("log_image")[0]["image"].max() == 0


@pytest.mark.parametrize(("value", "match"), [
    (torch.ones(2), "must be a scalar"), ("high", "must be a number"),
    (np.ones(3), "must be a number"), ([1.0], "must be a number")])
def test_bad_metric_values_are_errors_at_the_call(value, match):
    rec = RecordingLogger()
    run = make(rec)
    with pytest.raises(TypeError, match=match):
        run.log_metrics({"ok": 1.0, "bad": value}, step=0)
    run.finalize()
    assert rec.metrics == []  # nothing half-sent


def test_bad_image_layout_is_an_error_at_the_call():
    run = make(RecordingLogger())
    with pytest.raises(ValueError, match="dataformats"):
        run.log_image("x", np.zeros((3, 4, 5)), dataformats="WHC")
    with pytest.raises(ValueError, match="needs 3"):
        run.log_image("x", np.zeros((4, 5)), dataformats="CHW")
    run.finalize()


def test_nan_and_inf_are_delivered_and_reported_once():
    rec = RecordingLogger()
    run = make(rec)
    with pytest.warns(RuntimeWarning, match="'loss' is nan") as record:
        for step in range(3):
            run.log_metrics({"loss": float("nan"), "g": torch.tensor(float("inf"))}, step)
    assert len(record) == 2  # once for loss, once for g
    run.finalize()
    assert len(rec.metrics) == 3
    assert all(math.isnan(m["loss"]) and m["g"] == math.inf for _, m in rec.metrics)


def test_step_defaults_to_the_next_one():
    rec = RecordingLogger()
    run = make(rec)
    run.log_metrics({"a": 1})
    run.log_metrics({"a": 2})
    run.log_metrics({"a": 3}, step=10)
    run.log_metrics({"a": 4})
    run.finalize()
    assert [s for s, _ in rec.metrics] == [0, 1, 10, 11]


def test_hyperparams_are_made_plain():
    import argparse

    rec = RecordingLogger()
    run = make(rec)
    run.log_hyperparams(argparse.Namespace(lr=torch.tensor(0.5), layers=[1, 2], opt={"m": 0.9}))
    run.finalize()
    assert rec.of("log_hyperparams")[0]["params"] == {"lr": 0.5, "layers": [1, 2],
                                                     "opt": {"m": 0.9}}


def test_sync_hooks_wait_and_state_round_trips():
    rec = RecordingLogger()
    only = MetricsOnly()
    run = make(rec, only)
    model = torch.nn.Linear(2, 2)
    run.log_graph(model, torch.zeros(1, 2))
    assert rec.of("log_graph")[0]["model"] is model  # delivered before log_graph returned
    run.log_metrics({"x": 1}, step=41)
    assert run.state_dict() == {"recordinglogger": {"step": 41}}
    run.load_state_dict({"recordinglogger": {"step": 41}, "unknown": {}})
    assert rec.of("load_state_dict") == [{"state": {"step": 41}}]
    run.finalize()


def test_flush_calls_save_and_waits():
    rec = RecordingLogger()
    run = make(rec)
    run.log_metrics({"x": 1}, step=0)
    assert run.flush(timeout=5)
    assert [h for h, _ in rec.calls] == ["log_metrics", "save"]
    run.finalize()


def test_figure_is_closed_once_every_backend_had_it():
    import matplotlib.pyplot as plt
    a, b = Gated(), RecordingLogger()
    run = make(a, b)
    fig = plt.figure()
    run.log_figure("fig", fig, step=0)
    run.log_metrics({"x": 1}, step=0)  # gated: a holds its queue
    assert plt.fignum_exists(fig.number)
    a.gate.set()
    run.finalize()
    assert not plt.fignum_exists(fig.number)
    assert a.of("log_figure")[0]["figure"] is fig


def test_summary_counts_and_format():
    rec, bad = RecordingLogger(), Raising()
    run = FanOut([rec, bad], summary=False)
    for step in range(3):
        run.log_metrics({"x": step}, step=step)
    summary = run.finalize()
    text = summary.format()
    assert "status: success" in text
    assert "recordinglogger" in text and "failed: RuntimeError: boom at step 0" in text
    assert summary.backends["recordinglogger"].received == 4
    assert summary.backends["recordinglogger"].delivered == 4


def test_summary_is_printed_at_finalize(capsys):
    run = FanOut([RecordingLogger()])
    run.log_metrics({"x": 1}, step=0)
    run.finalize()
    assert "fanlog run summary (status: success)" in capsys.readouterr().err


def test_empty_fanout_is_a_no_op():
    run = FanOut([], summary=False)
    run.log_metrics({"x": 1}, step=0)
    assert run.finalize().backends == {}
