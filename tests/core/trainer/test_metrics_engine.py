"""The metrics engine on its own: Lightning's self.log semantics, errors, one transfer per
logging step, bounded memory."""

from __future__ import annotations

import math

import pytest
import torch

from fanlog import metrics
from fanlog.metrics import History, MetricsEngine, batch_size_of


def engine_in(stage="train", hook="training_step", **kw):
    engine = MetricsEngine(**kw)
    engine.enter(stage, hook)
    return engine


def test_training_defaults_to_step_values():
    engine = engine_in()
    for value in (1.0, 3.0):
        engine.begin_batch(None)
        engine.log("loss", torch.tensor(value))
        assert engine.collect_step() == {"loss": value}
    assert engine.collect_epoch("train") == {}


def test_validation_defaults_to_batch_weighted_epoch_means():
    engine = engine_in("validate", "validation_step")
    for size, value in ((4, 1.0), (1, 6.0)):
        engine.begin_batch(torch.zeros(size, 2))  # the size is read from the batch
        engine.log("acc", torch.tensor(value))
        assert engine.collect_step() == {}
    assert engine.collect_epoch("validate") == {"acc": pytest.approx((4 * 1 + 6) / 5)}
    assert engine.collect_epoch("validate") == {}  # reset for the next epoch


def test_step_and_epoch_get_suffixes_and_reductions():
    engine = engine_in()
    values = [3.0, -1.0, 5.0, 2.0]
    for i, v in enumerate(values):
        engine.begin_batch(None)
        t = torch.tensor(v)
        engine.log("x", t, on_epoch=True, batch_size=i + 1)
        engine.log("s", t, on_step=False, on_epoch=True, reduce_fx="sum")
        engine.log("hi", t, on_step=False, on_epoch=True, reduce_fx=torch.max)
        engine.log("lo", v, on_step=False, on_epoch=True, reduce_fx="min")
        engine.log("med", t, on_step=False, on_epoch=True, reduce_fx=torch.median)
        assert engine.collect_step() == {"x_step": v}
    weighted = sum(v * (i + 1) for i, v in enumerate(values)) / 10
    assert engine.collect_epoch("train") == {
        "x_epoch": pytest.approx(weighted), "s": 9.0, "hi": 5.0, "lo": -1.0, "med": 2.0}
    assert engine.callback_metrics["x"] == pytest.approx(weighted)  # the plain-name alias


def test_prog_bar_and_logger_flags():
    engine = engine_in()
    engine.begin_batch(None)
    engine.log("shown", 1.0, prog_bar=True)
    engine.log("hidden", 2.0, logger=False)
    assert engine.collect_step() == {"shown": 1.0}
    assert engine.progress_bar_metrics == {"shown": 1.0}
    assert engine.callback_metrics == {"shown": 1.0, "hidden": 2.0}


def test_only_the_current_steps_values_are_logged():
    engine = engine_in()
    engine.begin_batch(None)
    engine.log("a", 1.0)
    engine.begin_batch(None)
    engine.log("b", 2.0)
    assert engine.collect_step() == {"b": 2.0}


def test_accepted_value_types():
    engine = engine_in()
    engine.begin_batch(None)
    import numpy as np

    engine.log("t1", torch.tensor([2.5]))  # one element, any shape
    engine.log("int", 3)
    engine.log("bool", True)
    engine.log("np", np.float32(1.5))
    engine.log("itensor", torch.tensor(7))
    assert engine.collect_step() == {"t1": 2.5, "int": 3.0, "bool": 1.0, "np": 1.5,
                                     "itensor": 7.0}


@pytest.mark.parametrize(("value", "message"), [
    (torch.ones(3), r"shape \(3,\)"),
    ("0.5", "strings cannot be logged"),
    (object(), "must be a number"),
])
def test_bad_values_fail_at_the_call(value, message):
    engine = engine_in()
    with pytest.raises(TypeError, match=message):
        engine.log("m", value)


def test_bad_options_fail_at_the_call():
    engine = engine_in()
    with pytest.raises(ValueError, match="reserved"):
        engine.log("epoch", 1.0)
    with pytest.raises(ValueError, match="reduce_fx"):
        engine.log("m", 1.0, reduce_fx="median")
    with pytest.raises(ValueError, match="both False"):
        engine.log("m", 1.0, on_step=False, on_epoch=False)
    with pytest.raises(ValueError, match="custom callable"):
        engine.log("m", 1.0, reduce_fx=torch.median, sync_dist=True)
    with pytest.raises(ValueError, match="rank_zero_only"):
        engine.log("m", 1.0, sync_dist=True, rank_zero_only=True)


def test_a_name_keeps_its_options_within_a_hook():
    engine = engine_in()
    engine.log("loss", 1.0)
    engine.log("loss", 2.0, on_step=True, on_epoch=False)  # the same options, spelled out
    with pytest.raises(ValueError, match="earlier in the same hook"):
        engine.log("loss", 1.0, prog_bar=True)
    engine.enter("validate", "validation_step")
    engine.log("loss", 1.0, prog_bar=True)  # another hook may use the name its own way


def test_nan_and_inf_are_values():
    engine = engine_in()
    for v in (1.0, math.nan, math.inf):
        engine.begin_batch(None)
        engine.log("x", torch.tensor(v), on_epoch=True, reduce_fx="max")
        engine.log("y", torch.tensor(v), on_step=False, on_epoch=True)
    step = engine.collect_step()
    assert step == {"x_step": math.inf}
    epoch = engine.collect_epoch("train")
    assert math.isnan(epoch["x_epoch"]) and math.isnan(epoch["y"])


def test_logged_tensors_are_detached():
    engine = engine_in()
    w = torch.ones(2, requires_grad=True)
    engine.begin_batch(None)
    engine.log("loss", (w * 3).sum(), on_epoch=True)
    assert all(not v.requires_grad for _, v, _ in engine._pending)
    assert engine.collect_step() == {"loss_step": 6.0}


def test_one_conversion_per_logging_step(monkeypatch):
    """All values waiting since the last logging step (step and epoch ones, of every
    metric) reach the host in ONE call of the engine's conversion path."""
    calls = []
    real = metrics.to_host

    def counting(tensors):
        calls.append(len(tensors))
        return real(tensors)

    monkeypatch.setattr(metrics, "to_host", counting)
    engine = engine_in()
    log_every, steps = 5, 20
    for step in range(1, steps + 1):
        engine.begin_batch(None)
        for i in range(10):
            engine.log(f"m{i}", torch.tensor(float(step + i)), on_epoch=i % 2 == 0)
        if step % log_every == 0:
            engine.collect_step()
    assert len(calls) == steps // log_every
    # every value of the interval, this step's among them, in the one call
    assert calls == [10 * log_every] * len(calls)
    engine.collect_epoch("train")
    assert len(calls) == steps // log_every  # nothing was left waiting


def test_memory_is_bounded_without_logging_steps():
    engine = engine_in("validate", "validation_step", max_pending=64)
    for i in range(1000):
        engine.begin_batch(None)
        engine.log("v", torch.tensor(float(i)))
        assert len(engine._pending) <= 64
    assert engine.collect_epoch("validate") == {"v": pytest.approx(499.5)}


def test_history_windows():
    h = History(maxlen=3, totals=True)
    for v in (1.0, 2.0, 3.0, 10.0):
        h.update(v)
    assert h.statistic("mean", 3) == 5.0
    assert h.statistic("mean", 2) == 6.5
    assert h.statistic("max", "epoch") == 10.0
    assert h.statistic("current", 3) == 10.0
    h.epoch.reset()
    h.update(0.0)
    assert h.statistic("min", "epoch") == 0.0 and h.statistic("mean", "global") == 3.2


def test_training_metrics_feed_the_text_log_history():
    engine = engine_in(window_size=2)
    for v in (1.0, 2.0, 4.0):
        engine.begin_batch(None)
        engine.log("loss", torch.tensor(v))
    engine.collect_step()
    assert list(engine.histories["loss"].window) == [2.0, 4.0]


def test_batch_size_inference():
    assert batch_size_of((torch.zeros(5, 2), torch.zeros(5))) == 5
    assert batch_size_of({"meta": "x", "input": [torch.zeros(7, 1)]}) == 7
    assert batch_size_of(torch.tensor(3.0)) == 1
    assert batch_size_of(["no tensors"]) == 1
