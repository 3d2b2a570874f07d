"""fit / validate / test on one process, with real backends behind the FanOut."""

from __future__ import annotations

import csv
import math

import pytest
import torch

from fanlog import hub
from fanlog.module import Module
from tests.core.trainer.trainer_models import Regression, loader


def rows(recorder):
    return recorder.metrics


def test_fit_sends_one_row_per_logging_step(make_trainer, recorder):
    trainer = make_trainer(loggers=[recorder], max_epochs=2, log_every_n_steps=3)
    trainer.fit(Regression(), loader(32), loader(8))  # 8 batches an epoch
    steps = [step for step, _ in rows(recorder)]
    assert steps == [3, 6, 8, 9, 12, 15, 16]  # epoch ends (8, 16) carry val + epoch values
    assert len(steps) == len(set(steps))
    by_step = dict(rows(recorder))
    assert set(by_step[3]) == {"epoch", "loss_step"}
    assert set(by_step[8]) == {"epoch", "val_loss", "loss_epoch"}
    assert by_step[16]["epoch"] == 1.0
    assert all(type(v) is float for m in by_step.values() for v in m.values())
    assert recorder.of("log_hyperparams") == [{"params": {"lr": 0.05, "scheduler": None}}]
    assert recorder.finalized == ["success"]
    assert trainer.global_step == 16 and trainer.current_epoch == 2
    assert trainer.callback_metrics["loss"] == by_step[16]["loss_epoch"]


def test_training_learns_and_epoch_loss_is_the_batch_weighted_mean(make_trainer):
    seen = []

    class Watch(Regression):
        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            seen.append((loss.item(), len(batch[0])))
            return loss

    trainer = make_trainer(max_epochs=1)
    trainer.fit(Watch(), loader(30, batch_size=8))  # batches of 8, 8, 8, 6
    expected = sum(v * n for v, n in seen) / sum(n for _, n in seen)
    assert trainer.callback_metrics["loss_epoch"] == pytest.approx(expected)
    assert seen[-1][0] < seen[0][0]


def test_loggers_by_name_and_escape_hatches(make_trainer, tmp_path):
    seen = {}

    class Peek(Regression):
        def training_step(self, batch, batch_idx):
            seen["loggers"] = self.loggers
            seen["experiment"] = self.logger.experiment
            return super().training_step(batch, batch_idx)

    trainer = make_trainer(loggers=["csv"])
    trainer.fit(Peek(), loader(8))
    assert seen["loggers"] == trainer.loggers
    assert [type(b).__name__ for b in seen["loggers"]] == ["CSVLogger"]
    run_dir = seen["experiment"]  # the csv backend's native object: its run folder
    assert run_dir.parent == tmp_path / "root" / "fanlog"  # save_dir from default_root_dir
    with open(run_dir / "metrics.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in table] == [1, 2]
    assert "loss_epoch" in table[-1] and table[-1]["loss_epoch"]


def test_validate_and_test_return_their_metrics(make_trainer, recorder):
    trainer = make_trainer(loggers=[recorder])
    [val] = trainer.validate(Regression(), loader(8))
    [test] = trainer.test(Regression(), loader(8))
    assert set(val) == {"val_loss"} and set(test) == {"test_loss"}
    assert val["val_loss"] == pytest.approx(test["test_loss"])  # same weights, same data
    assert [set(m) for _, m in rows(recorder)] == [{"epoch", "val_loss"},
                                                   {"epoch", "test_loss"}]


def test_scheduler_monitor_must_be_logged(make_trainer):
    module = Regression(scheduler={"name": "ReduceLROnPlateau", "monitor": "val_los"})
    with pytest.raises(ValueError, match=r"monitors 'val_los'.*logged metrics: .*'val_loss'"):
        make_trainer().fit(module, loader(8), loader(8))


def test_plateau_scheduler_reads_the_monitored_metric(make_trainer):
    class Flat(Regression):
        def validation_step(self, batch, batch_idx):
            self.log("val_loss", 1.0)  # never improves

    module = Flat(lr=0.1, scheduler={"name": "ReduceLROnPlateau", "monitor": "val_loss",
                                     "patience": 0, "factor": 0.5})
    trainer = make_trainer(max_epochs=3)
    trainer.fit(module, loader(8), loader(8))
    # epoch 1 sets the best; epochs 2 and 3 do not improve on it: halved twice
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.025)


def test_step_scheduler_monitoring_a_step_value(make_trainer):
    class Flat(Regression):
        def training_step(self, batch, batch_idx):
            self.log("flat", 1.0)
            return super().training_step(batch, batch_idx)

    module = Flat(lr=0.1, scheduler={"name": "ReduceLROnPlateau", "monitor": "flat",
                                     "interval": "step", "patience": 0, "factor": 0.5})
    trainer = make_trainer(log_every_n_steps=50)  # the monitor is read between logging steps
    trainer.fit(module, loader(12))
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.025)


def test_step_scheduler_and_accumulation(make_trainer):
    module = Regression(lr=1.0, scheduler={"name": "StepLR", "step_size": 1, "gamma": 0.5,
                                           "interval": "step"})
    trainer = make_trainer(accumulate_grad_batches=3)
    trainer.fit(module, loader(28, batch_size=4))  # 7 batches: steps after 3, 6 and 7
    assert trainer.global_step == 3
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(1.0 / 8)


def test_gradient_clipping_bounds_the_update(make_trainer):
    module = Regression(lr=1.0)
    before = [p.detach().clone() for p in module.parameters()]
    make_trainer(max_steps=1, gradient_clip_val=0.01).fit(module, loader(8))
    change = torch.cat([(p.detach() - b).flatten() for p, b in zip(module.parameters(),
                                                                    before, strict=True)])
    assert 0 < change.norm() <= 0.01 + 1e-6


def test_max_steps_and_validation_inside_the_epoch(make_trainer, recorder):
    trainer = make_trainer(loggers=[recorder], max_epochs=5, max_steps=6,
                           val_check_interval=0.5)
    trainer.fit(Regression(), loader(32), loader(8))  # 8 batches: validate after 4 and 8
    assert trainer.global_step == 6
    val_steps = [step for step, m in rows(recorder) if "val_loss" in m]
    assert val_steps == [4, 6]  # mid-epoch, then at the (shortened) epoch's end


def test_outputs_dict_and_none_skip(make_trainer):
    class Skips(Regression):
        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            return None if batch_idx % 2 else {"loss": loss}

    trainer = make_trainer()
    trainer.fit(Skips(), loader(16))
    assert trainer.global_step == 4


def test_hub_records_from_inside_forward(make_trainer, recorder):
    seen = []

    class Deep(Regression):
        def forward(self, x):
            out = self.net(x)
            hub.log_scalar("train/activation", out.abs().mean())
            return out

        def on_train_epoch_end(self):
            seen.append(hub.get_scalar("train/activation").statistic("current", 1))

    trainer = make_trainer(loggers=[recorder])
    trainer.fit(Deep(), loader(8))
    assert all("train/activation" in m for _, m in rows(recorder))
    assert seen == [rows(recorder)[-1][1]["train/activation"]]
    assert hub.current_hub() is None  # only while a run is going
    hub.log_scalar("ignored", 1.0)  # outside a run: nothing to record into


def test_nan_is_logged_and_reported_once(make_trainer, recorder):
    class Nan(Regression):
        def training_step(self, batch, batch_idx):
            self.log("bad", torch.tensor(math.nan))
            return super().training_step(batch, batch_idx)

    with pytest.warns(RuntimeWarning, match="'bad' is nan") as warned:
        make_trainer(loggers=[recorder]).fit(Nan(), loader(12))
    assert sum("'bad'" in str(w.message) for w in warned) == 1
    assert [math.isnan(m["bad"]) for _, m in rows(recorder)[:3]] == [True] * 3


def test_module_log_outside_a_run_warns_once():
    module = Regression()
    with pytest.warns(UserWarning, match="outside a Trainer run"):
        module.log("x", 1.0)
        module.log("x", 1.0)


def test_save_hyperparameters_captures_init_arguments():
    class Child(Module):
        def __init__(self, width, depth=2, *, act="relu", **extra):
            super().__init__()
            self.save_hyperparameters(ignore="depth")

    assert Child(8, act="gelu", dropout=0.1).hparams == {"width": 8, "act": "gelu",
                                                         "dropout": 0.1}
    assert Child(4).hparams.width == 4


def test_bad_configure_optimizers(make_trainer):
    class NoOpt(Regression):
        def configure_optimizers(self):
            return [torch.optim.SGD(self.parameters(), lr=0.1)] * 2

    with pytest.raises(TypeError, match="one optimizer"):
        make_trainer().fit(NoOpt(), loader(8))


def test_failure_finalizes_backends_as_failed(make_trainer, recorder):
    class Boom(Regression):
        def training_step(self, batch, batch_idx):
            if batch_idx == 1:
                raise RuntimeError("boom")
            return super().training_step(batch, batch_idx)

    with pytest.raises(RuntimeError, match="boom"):
        make_trainer(loggers=[recorder]).fit(Boom(), loader(16))
    assert recorder.finalized == ["failed"]
    assert [step for step, _ in rows(recorder)] == [1]  # what was logged got out


def test_default_loggers_and_a_fanout_of_your_own(make_trainer, recorder, capsys):
    from fanlog import FanOut

    trainer = make_trainer(loggers=None)  # config, environment or the default
    trainer.fit(Regression(), loader(8))
    assert [type(b).__name__ for b in trainer.loggers] == ["ConsoleLogger", "CSVLogger"]
    assert "Epoch(train) [1][2/2]" in capsys.readouterr().out  # the console shows the text log

    with FanOut([recorder], summary=False) as fan:
        make_trainer(loggers=fan).fit(Regression(), loader(8))
        make_trainer(loggers=fan).test(Regression(), loader(8))
        assert recorder.finalized == []  # the owner finalizes
        assert [s for s, _ in recorder.metrics] == [1, 2, 0]  # both runs, one backend run
    assert recorder.finalized == ["success"]


def test_validate_from_a_checkpoint(make_trainer, tmp_path):
    from fanlog.callbacks import ModelCheckpoint

    trained = Regression(lr=0.1)
    make_trainer(max_epochs=3, callbacks=[ModelCheckpoint(save_last=True)]).fit(
        trained, loader(16))
    fresh = Regression()
    [metrics] = make_trainer().validate(fresh, loader(8),
                                        ckpt_path=tmp_path / "root" / "checkpoints" / "last.ckpt")
    [direct] = make_trainer().validate(trained, loader(8))
    assert metrics == direct


def test_one_conversion_per_logging_step_in_a_fit(make_trainer, monkeypatch):
    from fanlog import metrics

    calls = []
    real = metrics.to_host
    monkeypatch.setattr(metrics, "to_host", lambda tensors: calls.append(len(tensors))
                        or real(tensors))

    class Ten(Regression):
        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            for i in range(10):
                self.log(f"m{i}", loss * i, on_epoch=i % 2 == 0)
            return loss

    trainer = make_trainer(log_every_n_steps=4)
    trainer.fit(Ten(), loader(64))  # 16 steps: logging steps 4, 8, 12, 16
    assert len(calls) == 4
    assert calls == [4 * 11] * 4  # every value of the interval, 11 metrics a step
