"""The scenario through MMEngine's real Runner: its loops, RuntimeInfoHook, IterTimerHook,
LoggerHook, ParamSchedulerHook, MessageHub, HistoryBuffer and LogProcessor. Only the clock
is ours (IterTimerHook reads it instead of ``time.time``)."""

from __future__ import annotations

import logging
import types
import uuid
from pathlib import Path

import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import iter_timer_hook
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.runner import Runner

from tests.mmengine.script import Clock, ClockedDataset, Playback, Scenario

TEXT_LOG = ("Epoch(", "Iter(", "Exp name: ")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(TEXT_LOG):
            self.lines.append(message)


def run(scenario: Scenario, workdir: Path) -> tuple[list[str], list[tuple[float, ...]]]:
    """The text-log lines MMEngine prints for ``scenario``, and what the model read from
    the hub at each training step after the first."""
    clock = Clock()
    playback = Playback(clock)
    probes: list[tuple[float, ...]] = []

    class Model(BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(1, 1)

        def forward(self, x, mode="tensor"):
            stage = "train" if self.training else self.stage
            k = playback.step(stage)
            if mode != "loss":
                return [k]
            zero = 0 * self.net(x).sum()
            hub = MessageHub.get_current_instance()
            if k:  # the hub as model code reads it (MMEngine's HistoryBuffer API)
                history = hub.get_scalar("train/loss")
                probes.append((history.mean(20), history.max(5), history.min(),
                               history.current(), history.statistics("mean", 3)))
            for name, f in scenario.hub_values.items():
                hub.update_scalar(name, torch.tensor(f(k), dtype=torch.float32))
            return {name: torch.tensor(f(k), dtype=torch.float32) + zero
                    for name, f in scenario.values.items()}

    class Metric(BaseMetric):
        def __init__(self, stage: str) -> None:
            super().__init__()
            self.stage = stage

        def process(self, data_batch, data_samples):
            self.results.extend(data_samples)

        def compute_metrics(self, results):
            functions = scenario.val if self.stage == "val" else scenario.test
            return {name: sum(float(torch.tensor(f(k), dtype=torch.float32))
                              for k in results) / len(results)
                    for name, f in functions.items()}

    def loader(stage: str, n: int) -> dict:
        data = ClockedDataset(n, stage, playback, lambda i: {"x": torch.ones(1)})
        return dict(dataset=data, sampler=dict(type="DefaultSampler", shuffle=False),
                    batch_size=1, collate_fn=dict(type="default_collate"))

    model = Model()
    if scenario.by_epoch:
        train_cfg = dict(by_epoch=True, max_epochs=scenario.epochs, val_interval=1)
    else:
        train_cfg = dict(by_epoch=False, max_iters=scenario.iters,
                         val_interval=scenario.val_every)
    evaluation = {}
    if scenario.validate:
        evaluation.update(val_dataloader=loader("val", scenario.val_len), val_cfg=dict(),
                          val_evaluator=Evaluator(Metric("val")))
    if scenario.run_test:
        evaluation.update(test_dataloader=loader("test", scenario.test_len), test_cfg=dict(),
                          test_evaluator=Evaluator(Metric("test")))
    runner = Runner(
        model=model, work_dir=str(workdir), experiment_name=f"ref-{uuid.uuid4().hex[:8]}",
        train_dataloader=loader("train", scenario.train_len), train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=scenario.lr)),
        param_scheduler=dict(type="StepLR", step_size=scenario.step_size, gamma=0.5,
                             by_epoch=False),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=scenario.interval,
                                       ignore_last=scenario.ignore_last,
                                       interval_exp_name=scenario.exp_every),
                           checkpoint=None),
        log_processor=dict(window_size=scenario.window_size, by_epoch=scenario.by_epoch,
                           custom_cfg=scenario.custom_cfg),
        env_cfg=dict(cudnn_benchmark=False), log_level="INFO", **evaluation)
    lines = _Lines()
    runner.logger.addHandler(lines)
    saved = iter_timer_hook.time
    iter_timer_hook.time = types.SimpleNamespace(time=clock)
    try:
        model.stage = "val"
        runner.train()
        if scenario.run_test:
            model.stage = "test"
            runner.test()
    finally:
        iter_timer_hook.time = saved
        runner.logger.removeHandler(lines)
    return [line.replace(runner.experiment_name, "<exp>") for line in lines.lines], \
        [tuple(float(v) for v in probe) for probe in probes]
