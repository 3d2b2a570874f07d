"""The scenario through fanlog's Trainer, written as an MMEngine user ports a model: the
values a ``forward`` records in the MessageHub go through ``fanlog.log_scalar``, the
``loss`` dict through ``self.log`` (``loss`` first: MMEngine's ``parse_losses`` puts the
total there), evaluation metrics through ``self.log`` in the evaluation steps."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch.utils.data import DataLoader

import fanlog
from tests.mmengine.script import Clock, ClockedDataset, Playback, Scenario

STAMP = re.compile(r"^\d\d/\d\d \d\d:\d\d:\d\d - fanlog - INFO - ")
TEXT_LOG = ("Epoch(", "Iter(", "Exp name: ")


def run(scenario: Scenario, root: Path) -> tuple[list[str], list[tuple[float, ...]]]:
    """The text-log lines fanlog writes for ``scenario`` (run.log), and what the model
    read from the hub at each training step after the first."""
    clock = Clock()
    playback = Playback(clock)
    probes: list[tuple[float, ...]] = []

    def value(f, k: int) -> torch.Tensor:
        return torch.tensor(f(k), dtype=torch.float32)

    class Model(fanlog.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(1, 1)

        def training_step(self, batch, batch_idx):
            k = playback.step("train")
            zero = 0 * self.net(batch).sum()
            if k:
                history = fanlog.get_scalar("train/loss")
                probes.append((history.mean(20), history.max(5), history.min(),
                               history.current(), history.statistics("mean", 3)))
            for name, f in scenario.hub_values.items():
                fanlog.log_scalar(name, value(f, k))
            outputs = {name: value(f, k) + zero for name, f in scenario.values.items()}
            loss = sum(v for name, v in outputs.items() if "loss" in name)
            self.log("loss", loss)
            for name, v in outputs.items():
                if name != "loss":
                    self.log(name, v)
            return loss

        def validation_step(self, batch, batch_idx):
            k = playback.step("val")
            for name, f in scenario.val.items():
                self.log(name, value(f, k))

        def test_step(self, batch, batch_idx):
            k = playback.step("test")
            for name, f in scenario.test.items():
                self.log(name, value(f, k))

        def configure_optimizers(self):
            optimizer = torch.optim.SGD(self.parameters(), lr=scenario.lr)
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, scenario.step_size, 0.5)
            return {"optimizer": optimizer,
                    "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def loader(stage: str, n: int) -> DataLoader:
        return DataLoader(ClockedDataset(n, stage, playback, lambda i: torch.ones(1)),
                          batch_size=1)

    processor = fanlog.LogProcessor(window_size=scenario.window_size,
                                    by_epoch=scenario.by_epoch,
                                    custom_cfg=scenario.custom_cfg, experiment_name="<exp>",
                                    ignore_last=scenario.ignore_last,
                                    interval_exp_name=scenario.exp_every, clock=clock)
    if scenario.by_epoch:
        limits = {"max_epochs": scenario.epochs}
    else:
        assert scenario.val_every % scenario.train_len == 0  # validation at epoch ends
        limits = {"max_epochs": None, "max_steps": scenario.iters,
                  "check_val_every_n_epoch": scenario.val_every // scenario.train_len}
    trainer = fanlog.Trainer(**limits, loggers=False, log_every_n_steps=scenario.interval,
                             log_processor=processor, default_root_dir=str(root),
                             enable_progress_bar=False)
    model = Model()
    trainer.fit(model, loader("train", scenario.train_len),
                loader("val", scenario.val_len) if scenario.validate else None)
    if scenario.run_test:
        trainer.test(model, loader("test", scenario.test_len))
    lines = [STAMP.sub("", line) for line in
             (root / "run.log").read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line.startswith(TEXT_LOG)], probes
