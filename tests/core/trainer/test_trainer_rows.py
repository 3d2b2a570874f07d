"""What reaches the backends and when: each training step once, epoch-end values in their
epoch's row, evaluation steps on their own counter, and what callbacks can read and log."""

from __future__ import annotations

import pytest
import torch

from fanlog.callbacks import ModelCheckpoint
from tests.core.trainer.trainer_models import Regression, loader


def training_rows(recorder):
    return [(step, m) for step, m in recorder.metrics if "epoch" in m]


class EpochEnds(Regression):
    """Logs from the module's own epoch-end hooks."""

    def on_train_epoch_end(self):
        self.log("mod_train", float(self.current_epoch))

    def on_validation_epoch_end(self):
        self.log("mod_val", 10.0 + self.current_epoch)


class EpochEndLogger:
    """Logs from a callback's epoch-end hooks (Lightning's defaults: epoch values)."""

    def on_train_epoch_end(self, trainer, module):
        module.log("cb_train", float(trainer.current_epoch))

    def on_validation_epoch_end(self, trainer, module):
        module.log("cb_val", 20.0 + trainer.current_epoch)

    def on_test_epoch_end(self, trainer, module):
        module.log("cb_test", 30.0)


def test_epoch_end_values_go_out_in_that_epochs_row(make_trainer, recorder):
    trainer = make_trainer(loggers=[recorder], max_epochs=2, callbacks=[EpochEndLogger()])
    trainer.fit(EpochEnds(), loader(16), loader(8))  # 4 steps an epoch
    rows = dict(recorder.metrics)
    assert [step for step, _ in recorder.metrics] == list(range(1, 9))
    for end, epoch in ((4, 0), (8, 1)):  # the last epoch's values are not lost
        assert rows[end]["mod_train"] == rows[end]["cb_train"] == float(epoch)
        assert rows[end]["mod_val"] == 10.0 + epoch and rows[end]["cb_val"] == 20.0 + epoch
    assert not {"mod_train", "cb_train", "cb_val"} & set(rows[5])
    assert trainer.callback_metrics["cb_train"] == 1.0

    [tested] = trainer.test(EpochEnds(), loader(8))
    assert tested["cb_test"] == 30.0  # returned, and sent with the test's epoch values
    assert recorder.metrics[-1][1]["cb_test"] == 30.0


@pytest.mark.parametrize("where", ["module", "callback"])
def test_self_log_in_on_fit_end_raises(make_trainer, recorder, where):
    class Late(Regression):
        def on_fit_end(self):
            if where == "module":
                self.log("final", 1.0)

    class LateCallback:
        def on_fit_end(self, module):
            if where == "callback":
                module.log("final", 1.0)

    trainer = make_trainer(loggers=[recorder], callbacks=[LateCallback()])
    with pytest.raises(ValueError, match=r"self\.log\('final'\) in on_fit_end: .*trainer\."
                                         r"log_metrics"):
        trainer.fit(Late(), loader(8))
    assert recorder.finalized == ["failed"]


def test_a_step_checkpoint_at_an_epochs_last_step_sends_the_step_once(make_trainer, recorder,
                                                                      tmp_path):
    checkpoint = ModelCheckpoint(every_n_epochs=None, every_n_train_steps=4, save_top_k=-1)
    trainer = make_trainer(loggers=[recorder], max_epochs=2, callbacks=[checkpoint])
    trainer.fit(Regression(), loader(16), loader(8))
    steps = [step for step, _ in recorder.metrics]
    assert steps == list(range(1, 9))  # one log_metrics call per step
    rows = dict(recorder.metrics)
    assert {"loss_step", "val_loss", "loss_epoch"} <= set(rows[4])
    # the checkpoint holds the backends' state up to step 3 and step 4's row so far: a
    # resumed run sends step 4 once, completed by the validation and epoch values
    saved = torch.load(tmp_path / "root" / "checkpoints" / "epoch=0-step=4.ckpt",
                       weights_only=False)
    assert saved["row"] == {"step": 4, "metrics": {"epoch": 0.0,
                                                   "loss_step": rows[4]["loss_step"]}}


@pytest.mark.parametrize("log_every_n_steps", [1, 3])
def test_callbacks_read_this_steps_values_in_on_train_batch_end(make_trainer, recorder,
                                                                log_every_n_steps):
    losses, seen = [], []

    class Watch(Regression):
        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            losses.append(loss.item())
            return loss

    class Reader:
        def on_train_batch_end(self, trainer):
            seen.append(trainer.callback_metrics["loss_step"])

    checkpoint = ModelCheckpoint(monitor="loss_step", every_n_epochs=None,
                                 every_n_train_steps=2, save_top_k=-1)
    trainer = make_trainer(loggers=[recorder], log_every_n_steps=log_every_n_steps,
                           callbacks=[Reader(), checkpoint])
    trainer.fit(Watch(), loader(24))  # 6 steps
    assert seen == pytest.approx(losses)  # every step's own value, logging step or not
    assert sorted(checkpoint.best_k_models.values()) == pytest.approx(sorted(losses[1::2]))
    logged = [step for step, _ in recorder.metrics]
    assert logged == sorted(set(logged))  # reading values sends nothing extra


def test_a_step_scheduler_and_a_callback_read_the_same_fresh_value(make_trainer):
    seen = []

    class Reader:
        def on_train_batch_end(self, trainer):
            seen.append(trainer.callback_metrics["loss"])

    module = Regression(scheduler={"name": "ReduceLROnPlateau", "monitor": "loss",
                                   "interval": "step"})
    trainer = make_trainer(log_every_n_steps=50, callbacks=[Reader()])
    trainer.fit(module, loader(12))
    assert len(seen) == 3 and len(set(seen)) == 3


def test_evaluation_step_values_count_their_own_steps(make_trainer, recorder):
    class StepValues(Regression):
        def validation_step(self, batch, batch_idx):
            self.log("v", float(batch_idx), on_step=True, on_epoch=True)

        def test_step(self, batch, batch_idx):
            self.log("t", 5.0 + batch_idx, on_step=True, on_epoch=False)

    trainer = make_trainer(loggers=[recorder], max_epochs=2)
    trainer.fit(StepValues(), loader(16), loader(12))  # 4 steps and 3 val batches an epoch
    val_steps = [(step, m) for step, m in recorder.metrics if "v_step" in m]
    # as Lightning: validation batches counted across the fit's passes, from 0, no epoch
    assert val_steps == [(0, {"v_step": 0.0}), (1, {"v_step": 1.0}), (2, {"v_step": 2.0}),
                         (3, {"v_step": 0.0}), (4, {"v_step": 1.0}), (5, {"v_step": 2.0})]
    rows = training_rows(recorder)
    assert [step for step, _ in rows] == list(range(1, 9))  # training steps still once each
    assert dict(rows)[4]["v_epoch"] == 1.0 and "v_step" not in dict(rows)[4]

    recorder.calls.clear()
    trainer.test(StepValues(), loader(8))
    assert recorder.metrics == [(0, {"t": 5.0}), (1, {"t": 6.0})]  # test's own counter


def test_callbacks_run_in_list_order_and_checkpoints_last(make_trainer):
    order = []

    class Named:
        def __init__(self, name):
            self.name = name

        def on_fit_start(self):
            order.append(self.name)

    class Checkpoint(ModelCheckpoint):
        def on_fit_start(self):
            order.append("checkpoint")

    callbacks = [Named("a"), Checkpoint(every_n_epochs=None), Named("b"), Named("c")]
    make_trainer(callbacks=callbacks).fit(Regression(), loader(4))
    assert order == ["a", "b", "c", "checkpoint"]  # as Lightning: ModelCheckpoint last


def test_a_training_step_returning_none_counts_as_a_step_without_an_update(make_trainer):
    """Lightning's behaviour (2.6): the batch is skipped (no backward, so the optimizer
    step changes nothing) but it still counts in global_step."""

    class Skips(Regression):
        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            return None if batch_idx % 2 else loss

    module = Skips()
    after = []

    class Weights:
        def on_train_batch_end(self, module):
            after.append(torch.cat([p.detach().flatten() for p in module.parameters()]))

    trainer = make_trainer(callbacks=[Weights()])
    trainer.fit(module, loader(16))
    assert trainer.global_step == 4
    assert torch.equal(after[0], after[1]) and torch.equal(after[2], after[3])  # no update
    assert not torch.equal(after[1], after[2])
