"""FanLogTracker inside a real Accelerate loop (CPU, a tiny model): every value given to
``accelerator.log`` reaches metrics.csv beside a failing and a slow backend; the config,
text and nested values, ``get_tracker``, the run's end."""

from __future__ import annotations

from pathlib import Path

import torch
import yaml
from accelerate import Accelerator

from fanlog import FanOut, Status
from fanlog.integrations.accelerate import FanLogTracker
from fanlog.testing import RecordingLogger
from tests.integrations.support import misbehaving, read_rows


def train(accelerator: Accelerator, steps: int = 12) -> list[dict[str, float]]:
    """A tiny regression; returns what it logged at each step."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    model, optimizer = accelerator.prepare(model, optimizer)
    x = torch.randn(8, 4)
    y = x.sum(dim=1, keepdim=True)
    logged = []
    for step in range(steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        accelerator.backward(loss)
        optimizer.step()
        values = {"loss": loss.item(), "half": loss.item() / 2}
        accelerator.log(values, step=step)
        logged.append(values)
    return logged


def test_every_value_reaches_csv_with_a_failing_and_a_slow_backend(tmp_path):
    raising, sleeping = misbehaving()
    tracker = FanLogTracker(["csv", raising, sleeping], save_dir=tmp_path)
    accelerator = Accelerator(cpu=True, log_with=[tracker])
    accelerator.init_trackers("tiny", config={"lr": 0.05, "model": {"features": 4}})
    logged = train(accelerator)
    accelerator.end_training()

    log_dir = Path(tracker.place.log_dir)
    assert log_dir == tmp_path / "fanlog" / "version_0"
    assert read_rows(log_dir / "metrics.csv") == list(enumerate(logged))
    assert yaml.safe_load((log_dir / "hparams.yaml").read_text()) == \
        {"lr": 0.05, "model": {"features": 4}}
    assert sleeping.metrics == list(enumerate(logged))
    summary = tracker.summary
    assert summary.status == "success"
    assert summary.backends["raising"].state == "failed"
    assert summary.backends["csv"].lost == 0 and summary.backends["sleeping"].lost == 0


def test_tensors_text_and_nested_values_and_the_native_object(tmp_path):
    recorder = RecordingLogger()
    tracker = FanLogTracker([recorder], save_dir=tmp_path)
    accelerator = Accelerator(cpu=True, log_with=[tracker])
    accelerator.init_trackers("tiny")
    assert isinstance(accelerator.get_tracker("fanlog", unwrap=True), FanOut)
    assert accelerator.get_tracker("fanlog") is tracker
    accelerator.log({"loss": torch.tensor(0.25), "phase": "warmup",
                     "parts": {"a": 1.0, "b": 2}}, step=3)
    accelerator.end_training()
    assert recorder.metrics == [(3, {"loss": 0.25, "parts/a": 1.0, "parts/b": 2.0})]
    assert recorder.of("log_text") == [{"key": "phase", "text": "warmup", "step": 3}]
    assert recorder.finalized == [Status.SUCCESS]
    assert recorder.of("log_hyperparams") == []  # no config given, none sent
