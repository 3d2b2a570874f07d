"""fanlog's text log and hub against MMEngine 0.10.7 itself: one scripted run (values,
learning-rate schedule, clock) through MMEngine's real Runner and through fanlog's Trainer;
every printed line, and every number the model reads from the hub, must be equal."""

from __future__ import annotations

import copy

import pytest

from tests.mmengine import fanlog_side, reference
from tests.mmengine.script import Scenario

pytestmark = pytest.mark.slow  # about a second per scenario, MMEngine's Runner included


def loss(k):
    return 1.5 + (k % 5) * 0.25 + k * 0.01


def acc(k):
    return (k % 7) / 7


def big(k):
    return 1234567.0 + k * 0.5


SCENARIOS = {
    # the MMAction2 guide: loss_tmp recorded from forward, smoothed over 20 iterations
    "guide": Scenario(values={"loss": loss, "acc": acc},
                      hub_values={"train/loss_tmp": lambda k: 0.1 * k},
                      custom_cfg=[dict(data_src="loss_tmp", window_size=20,
                                       method_name="mean")],
                      val={"acc": lambda k: k / 25}, test={"acc": lambda k: 0.5 + k / 100}),
    # ten epochs: the epoch field is padded; an epoch that is a multiple of the interval
    "ten_epochs": Scenario(epochs=10, train_len=10, val_len=5, test_len=5, interval=5,
                           values={"loss1": loss, "loss2": acc, "grad_norm": big},
                           val={"loss": lambda k: 0.01 * k, "top1": acc}),
    # every window and method, replacing in place and adding fields, and time; a metric
    # named like a learning rate joins lr
    "statistics": Scenario(
        train_len=12, interval=4, window_size=3,
        values={"loss": loss, "acc": acc, "head_lr": lambda k: 0.001 * (k + 1)},
        custom_cfg=[dict(data_src="acc", method_name="mean"),
                    dict(data_src="loss", method_name="max", window_size="epoch",
                         log_name="loss_epoch_max"),
                    dict(data_src="loss", method_name="min", window_size="global",
                         log_name="loss_global_min"),
                    dict(data_src="acc", method_name="current", log_name="acc_now"),
                    dict(data_src="loss", method_name="mean", window_size=10,
                         log_name="loss10"),
                    dict(data_src="time", method_name="max", window_size=2)],
        val={"acc": acc}, test={"acc": acc}),
    # by iterations: Iter(train) [ 10/120], validation every 40 iterations
    "iterations": Scenario(by_epoch=False, iters=120, train_len=20, val_every=40,
                           val_len=12, test_len=7, values={"loss": loss, "acc": acc},
                           custom_cfg=[dict(data_src="loss", method_name="mean",
                                            window_size="global", log_name="loss_avg")],
                           val={"acc": acc}, test={"acc": acc}),
    # the epoch's last iterations logged too; Exp name every 4 iterations
    "keep_last": Scenario(epochs=2, train_len=11, interval=5, ignore_last=False, exp_every=4,
                          values={"loss": loss}, val_len=7, test_len=3, val={"acc": acc},
                          test={"acc": acc}),
    # a window of one, no evaluation at all
    "no_evaluation": Scenario(epochs=3, train_len=7, interval=3, window_size=1,
                              values={"loss": loss, "acc": acc}, validate=False,
                              run_test=False),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_lines_and_hub_as_mmengine(name, tmp_path):
    scenario = SCENARIOS[name]
    expected, expected_probes = reference.run(copy.deepcopy(scenario), tmp_path / "mm")
    got, probes = fanlog_side.run(copy.deepcopy(scenario), tmp_path / "fanlog")
    assert got == expected
    assert len(probes) == len(expected_probes) > 0
    flat = [v for probe in probes for v in probe]
    assert flat == pytest.approx([v for probe in expected_probes for v in probe], rel=1e-12)


def test_the_reference_is_mmengine_0_10_7():
    import mmengine

    assert mmengine.__version__ == "0.10.7"
