"""The shipped callbacks, and callbacks as pluggy plugins."""

from __future__ import annotations

import io
from pathlib import Path

import pluggy
import pytest
import torch

from fanlog.callbacks import (
    GradientNormMonitor,
    LearningRateMonitor,
    ModelCheckpoint,
    ProgressBar,
)
from tests.core.trainer.trainer_models import Regression, loader


def test_learning_rate_monitor_follows_the_scheduler(make_trainer, recorder):
    module = Regression(lr=1.0, scheduler={"name": "StepLR", "step_size": 1, "gamma": 0.5,
                                           "interval": "step"})
    trainer = make_trainer(loggers=[recorder], callbacks=[LearningRateMonitor()])
    trainer.fit(module, loader(12))
    assert [m["lr-SGD"] for _, m in recorder.metrics] == [1.0, 0.5, 0.25]


def test_learning_rate_monitor_per_epoch(make_trainer, recorder):
    module = Regression(lr=1.0, scheduler={"name": "StepLR", "step_size": 1, "gamma": 0.1})
    trainer = make_trainer(loggers=[recorder], max_epochs=2,
                           callbacks=[LearningRateMonitor("epoch", log_momentum=True)])
    trainer.fit(module, loader(8))
    epoch_rows = [m for _, m in recorder.metrics if "lr-SGD" in m]
    assert [m["lr-SGD"] for m in epoch_rows] == [1.0, pytest.approx(0.1)]
    assert epoch_rows[0]["lr-SGD-momentum"] == 0.0


def test_gradient_norm_monitor_matches_the_gradients(make_trainer, recorder):
    norms = []

    class Reference:
        def on_before_optimizer_step(self, module):
            grads = [p.grad.flatten() for p in module.parameters()]
            norms.append(torch.cat(grads).norm().item())

    trainer = make_trainer(loggers=[recorder], log_every_n_steps=2,
                           callbacks=[GradientNormMonitor(per_parameter=True), Reference()])
    trainer.fit(Regression(), loader(16))
    logged = [m for _, m in recorder.metrics if "grad_2.0_norm_total" in m]
    assert [m["grad_2.0_norm_total"] for m in logged] == pytest.approx(norms[1::2])
    assert {"grad_2.0_norm/net.weight", "grad_2.0_norm/net.bias"} <= set(logged[0])


def test_progress_bar_shows_prog_bar_metrics_and_eta(make_trainer):
    out = io.StringIO()
    trainer = make_trainer(max_epochs=2, enable_progress_bar=True,
                           callbacks=[ProgressBar(refresh_seconds=0, file=out)])
    trainer.fit(Regression(), loader(16), loader(8))
    text = out.getvalue()
    assert "Epoch 1: 100%" in text and "4/4" in text
    assert "loss_step=" in text and "loss_epoch=" in text  # the prog_bar metric
    assert "<00:00" in text  # tqdm's remaining-time estimate


def test_checkpoint_keeps_the_best_k_and_hands_them_to_backends(make_trainer, recorder,
                                                                tmp_path):
    scores = iter([3.0, 1.0, 2.0, 0.5])

    class Scored(Regression):
        def on_train_epoch_end(self):
            self.log("score", next(scores))

    checkpoint = ModelCheckpoint(monitor="score", mode="min", save_top_k=2, save_last=True)
    trainer = make_trainer(loggers=[recorder], max_epochs=4, callbacks=[checkpoint])
    trainer.fit(Scored(), loader(8))
    folder = tmp_path / "root" / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == [
        "epoch=1-step=4.ckpt", "epoch=3-step=8.ckpt", "last.ckpt"]
    assert checkpoint.best_model_path == str(folder / "epoch=3-step=8.ckpt")
    assert checkpoint.best_model_score == 0.5
    artifacts = recorder.of("log_artifact")
    assert [Path(a["path"]).name for a in artifacts if "last" not in a["path"]] == [
        "epoch=0-step=2.ckpt", "epoch=1-step=4.ckpt", "epoch=2-step=6.ckpt",
        "epoch=3-step=8.ckpt"]
    first = str(folder / "epoch=0-step=2.ckpt")
    assert artifacts[0]["metadata"] == {"kind": "checkpoint", "epoch": 0, "step": 2,
                                        "monitor": "score", "score": 3.0, "best": True,
                                        "best_path": first, "best_score": 3.0, "kept": [first],
                                        "callback": checkpoint.state_key}
    # The last one knows the best and what the callback still keeps (the rest is deleted).
    assert {k: artifacts[-1]["metadata"][k] for k in ("best", "best_path", "kept")} == {
        "best": False, "best_path": checkpoint.best_model_path,
        "kept": [str(folder / "epoch=1-step=4.ckpt"), checkpoint.best_model_path,
                 str(folder / "last.ckpt")]}
    saved = torch.load(checkpoint.best_model_path, weights_only=False)
    assert saved["global_step"] == 8 and saved["hyper_parameters"]["lr"] == 0.05


def test_checkpoint_monitor_must_exist(make_trainer):
    trainer = make_trainer(callbacks=[ModelCheckpoint(monitor="val_acc")])
    with pytest.raises(ValueError, match=r"val_acc.*logged metrics: \['loss'"):
        trainer.fit(Regression(), loader(8))


def test_callback_argument_names_are_checked(make_trainer):
    class Typo:
        def on_train_epoch_end(self, trainer, modul):
            pass

    with pytest.raises(pluggy.PluginValidationError, match="modul"):
        make_trainer(callbacks=[Typo()]).fit(Regression(), loader(8))


def test_callback_hooks_run_in_order(make_trainer):
    calls = []

    class Spy:
        pass

    for hook in ("on_fit_start", "on_train_epoch_start", "on_train_batch_start",
                 "on_before_backward", "on_after_backward", "on_before_optimizer_step",
                 "on_train_batch_end", "on_validation_epoch_start", "on_validation_batch_end",
                 "on_validation_epoch_end", "on_train_epoch_end", "on_fit_end"):
        setattr(Spy, hook, lambda self, _h=hook: calls.append(_h))
    make_trainer(callbacks=[Spy()]).fit(Regression(), loader(4), loader(4))
    assert calls == ["on_fit_start", "on_train_epoch_start", "on_train_batch_start",
                     "on_before_backward", "on_after_backward", "on_before_optimizer_step",
                     "on_train_batch_end", "on_validation_epoch_start", "on_validation_batch_end",
                     "on_validation_epoch_end", "on_train_epoch_end", "on_fit_end"]


def test_callbacks_log_through_the_trainer_into_the_same_row(make_trainer, recorder):
    class Extra:
        def on_train_batch_end(self, trainer):
            trainer.log_metrics({"extra": 1.0})

    make_trainer(loggers=[recorder], callbacks=[Extra()]).fit(Regression(), loader(8))
    assert [(s, sorted(m)) for s, m in recorder.metrics] == [
        (1, ["epoch", "extra", "loss_step"]), (2, ["epoch", "extra", "loss_epoch", "loss_step"])]
