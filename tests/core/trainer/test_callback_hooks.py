"""Every callback hook of the contract, called by the trainer at its moment with its
arguments (one ``test_hook_<name>`` per hook; tests/core/test_docs.py checks they exist)."""

from __future__ import annotations

import pytest
import torch

from fanlog.callbacks import ModelCheckpoint
from fanlog.hookspecs import CALLBACK_HOOKS
from fanlog.trainer import Trainer
from tests.core.trainer.trainer_models import Regression, loader


class Spy:
    """Records each hook with what the trainer looked like when it came."""

    def __init__(self):
        self.calls = []

    def _note(self, hook, trainer, **seen):
        self.calls.append((hook, dict(seen, step=trainer.global_step,
                                      epoch=trainer.current_epoch)))

    def of(self, hook):
        return [seen for h, seen in self.calls if h == hook]

    def on_fit_start(self, trainer, module):
        self._note("on_fit_start", trainer, module=module)

    def on_fit_end(self, trainer, module):
        self._note("on_fit_end", trainer, module=module)

    def on_train_epoch_start(self, trainer):
        self._note("on_train_epoch_start", trainer)

    def on_train_epoch_end(self, trainer):
        self._note("on_train_epoch_end", trainer, metrics=dict(trainer.callback_metrics))

    def on_train_batch_start(self, trainer, batch, batch_idx):
        self._note("on_train_batch_start", trainer, batch=batch, batch_idx=batch_idx)

    def on_train_batch_end(self, trainer, outputs, batch, batch_idx):
        self._note("on_train_batch_end", trainer, outputs=outputs, batch_idx=batch_idx)

    def on_before_backward(self, trainer, module, loss):
        self._note("on_before_backward", trainer, loss=loss.detach().clone(),
                   grads=[p.grad is not None for p in module.parameters()])

    def on_after_backward(self, trainer, module):
        self._note("on_after_backward", trainer,
                   grads=[p.grad is not None for p in module.parameters()])

    def on_before_optimizer_step(self, trainer, module, optimizer):
        self._note("on_before_optimizer_step", trainer, optimizer=optimizer,
                   grads=[p.grad is not None for p in module.parameters()])

    def on_validation_epoch_start(self, trainer):
        self._note("on_validation_epoch_start", trainer)

    def on_validation_batch_end(self, trainer, outputs, batch, batch_idx):
        self._note("on_validation_batch_end", trainer, batch_idx=batch_idx)

    def on_validation_epoch_end(self, trainer):
        self._note("on_validation_epoch_end", trainer, metrics=dict(trainer.callback_metrics))

    def on_test_epoch_start(self, trainer):
        self._note("on_test_epoch_start", trainer, batches=trainer.num_val_batches)

    def on_test_batch_end(self, trainer, outputs, batch, batch_idx):
        self._note("on_test_batch_end", trainer, outputs=outputs, batch_idx=batch_idx)

    def on_test_epoch_end(self, trainer):
        self._note("on_test_epoch_end", trainer, metrics=dict(trainer.callback_metrics))

    def on_save_checkpoint(self, trainer, checkpoint):
        checkpoint["spy"] = {"saved_at": trainer.global_step}
        self._note("on_save_checkpoint", trainer, keys=sorted(checkpoint))

    def on_load_checkpoint(self, trainer, checkpoint):
        self._note("on_load_checkpoint", trainer, spy=checkpoint.get("spy"))

    def on_exception(self, trainer, exception):
        self._note("on_exception", trainer, exception=exception)

    def on_log_line(self, trainer, line):
        self._note("on_log_line", trainer, line=line)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """fit 2 epochs (4 batches each, validation, a checkpoint per epoch), test, then a
    resumed fit for a third epoch."""
    root = tmp_path_factory.mktemp("hooks")
    spy, module = Spy(), Regression()
    options = dict(default_root_dir=str(root), enable_progress_bar=False, loggers=False,
                   log_every_n_steps=2)
    trainer = Trainer(max_epochs=2, callbacks=[spy, ModelCheckpoint(save_last=True)],
                      **options)
    trainer.fit(module, loader(16), loader(8))
    trainer.test(module, loader(8))
    resumed = Spy()
    Trainer(max_epochs=3, callbacks=[resumed], **options).fit(
        Regression(), loader(16), ckpt_path=root / "checkpoints" / "last.ckpt")
    return spy, module, trainer, resumed


def test_every_hook_has_a_spy_method():
    assert all(callable(getattr(Spy, hook, None)) for hook in CALLBACK_HOOKS)


def test_hook_on_fit_start(run):
    spy, module, _, _ = run
    assert spy.calls[0] == ("on_fit_start", {"module": module, "step": 0, "epoch": 0})
    assert len(spy.of("on_fit_start")) == 1


def test_hook_on_fit_end(run):
    spy, module, _, _ = run
    [end] = spy.of("on_fit_end")
    assert end == {"module": module, "step": 8, "epoch": 2}
    assert spy.calls.index(("on_fit_end", end)) > max(
        i for i, (h, _) in enumerate(spy.calls) if h == "on_train_epoch_end")


def test_hook_on_train_epoch_start(run):
    assert [s["epoch"] for s in run[0].of("on_train_epoch_start")] == [0, 1]


def test_hook_on_train_epoch_end(run):
    ends = run[0].of("on_train_epoch_end")
    assert [(s["epoch"], s["step"]) for s in ends] == [(0, 4), (1, 8)]
    assert all({"loss_epoch", "val_loss"} <= set(s["metrics"]) for s in ends)


def test_hook_on_train_batch_start(run):
    starts = run[0].of("on_train_batch_start")
    assert [s["batch_idx"] for s in starts] == [0, 1, 2, 3] * 2
    assert [s["step"] for s in starts] == list(range(8))  # before the batch's step
    assert starts[0]["batch"][0].shape == (4, 3)


def test_hook_on_train_batch_end(run):
    ends = run[0].of("on_train_batch_end")
    assert [s["step"] for s in ends] == list(range(1, 9))  # after the optimizer step
    assert all(isinstance(s["outputs"], torch.Tensor) and s["outputs"].ndim == 0
               for s in ends)


def test_hook_on_before_optimizer_step(run):
    spy, _, trainer, _ = run
    calls = spy.of("on_before_optimizer_step")
    assert len(calls) == 8
    assert all(s["optimizer"] is trainer.optimizers[0] and all(s["grads"]) for s in calls)


def test_hook_on_before_backward(run):
    calls, ends = run[0].of("on_before_backward"), run[0].of("on_train_batch_end")
    assert [s["step"] for s in calls] == list(range(8))  # before each batch's step
    assert [s["loss"] for s in calls] == [s["outputs"] for s in ends]  # what backward gets
    assert not any(any(s["grads"]) for s in calls)  # gradients were cleared after each step


def test_hook_on_after_backward(run):
    calls = run[0].of("on_after_backward")
    assert [s["step"] for s in calls] == list(range(8))
    assert all(all(s["grads"]) for s in calls)


def test_after_backward_sees_each_batch_and_logs_step_values(make_trainer, recorder):
    norms = []

    class GradNorm:
        def on_after_backward(self, trainer, module):
            norm = torch.cat([p.grad.flatten() for p in module.parameters()]).norm()
            norms.append(norm.item())
            module.log("grad_norm", norm)  # a step value by default, as in Lightning

    trainer = make_trainer(loggers=[recorder], accumulate_grad_batches=2,
                           callbacks=[GradNorm()])
    trainer.fit(Regression(), loader(16))  # 4 batches: 2 optimizer steps
    assert len(norms) == 4  # every backward, accumulated or not
    assert [(s, m["grad_norm"]) for s, m in recorder.metrics] == [
        (1, pytest.approx(norms[1])), (2, pytest.approx(norms[3]))]


def test_hook_on_validation_epoch_start(run):
    assert [s["step"] for s in run[0].of("on_validation_epoch_start")] == [4, 8]


def test_hook_on_validation_batch_end(run):
    assert [s["batch_idx"] for s in run[0].of("on_validation_batch_end")] == [0, 1] * 2


def test_hook_on_validation_epoch_end(run):
    ends = run[0].of("on_validation_epoch_end")
    assert len(ends) == 2 and all("val_loss" in s["metrics"] for s in ends)


def test_hook_on_test_epoch_start(run):
    [start] = run[0].of("on_test_epoch_start")
    assert start["batches"] == 2 and start["step"] == 8


def test_hook_on_test_batch_end(run):
    ends = run[0].of("on_test_batch_end")
    assert [s["batch_idx"] for s in ends] == [0, 1]
    assert all(s["outputs"] is None for s in ends)  # what test_step returned


def test_hook_on_test_epoch_end(run):
    [end] = run[0].of("on_test_epoch_end")
    assert "test_loss" in end["metrics"]


def test_hook_on_save_checkpoint(run):
    saves = run[0].of("on_save_checkpoint")
    assert [s["step"] for s in saves] == [4, 4, 8, 8]  # epoch file and last.ckpt each time
    assert {"state_dict", "optimizer_states", "loggers", "spy"} <= set(saves[0]["keys"])


def test_hook_on_load_checkpoint(run):
    [load] = run[3].of("on_load_checkpoint")
    assert load["spy"] == {"saved_at": 8}  # what on_save_checkpoint put in
    assert (load["step"], load["epoch"]) == (8, 2)  # loop state restored first


def test_hook_on_exception(make_trainer):
    class Boom(Regression):
        def training_step(self, batch, batch_idx):
            raise KeyError("data went missing")

    spy = Spy()
    with pytest.raises(KeyError):
        make_trainer(callbacks=[spy]).fit(Boom(), loader(8))
    [seen] = spy.of("on_exception")
    assert isinstance(seen["exception"], KeyError)


def test_hook_on_log_line(run):
    lines = [s["line"] for s in run[0].of("on_log_line")]
    assert lines[0].startswith("Epoch(train) [1][2/4]  lr: 5.0000e-02  eta: ")
    # MMEngine's evaluation lines: four spaces after the header
    assert any(line.startswith("Epoch(val) [2][2/2]    val_loss: ") for line in lines)
    assert any(line.startswith("Epoch(test) [2/2]    test_loss: ") for line in lines)
