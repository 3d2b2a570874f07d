"""Selected by name through the entry point, driven by fanlog.FanOut on its worker thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorboard  # noqa: F401  (collected first, as the SDK wants)
import torch
from fanlog_tensorboard import TensorBoardLogger

import fanlog
from fanlog.plugins import discover


def test_entry_point_lists_the_backend_and_its_capabilities() -> None:
    info = discover().get("tensorboard")
    assert (info.distribution, info.load()) == ("fanlog-tensorboard", TensorBoardLogger)
    assert set(info.static_capabilities()) == {
        "log_hyperparams", "log_metrics", "log_text", "log_image", "log_histogram",
        "log_audio", "log_figure", "log_graph", "log_artifact", "save", "finalize",
        "state_dict", "load_state_dict"}


@pytest.mark.filterwarnings("ignore:`torch.jit.trace:DeprecationWarning")
def test_fanout_by_name_writes_every_kind(tmp_path: Path, read_run) -> None:
    model = torch.nn.Linear(3, 2)
    loggers = [{"logger": "tensorboard", "name": "demo", "log_graph": True}]
    with fanlog.FanOut(loggers, summary=False,
                       run_defaults={"save_dir": str(tmp_path), "name": "ignored"}) as fan:
        tb = fan.backends["tensorboard"]
        assert isinstance(tb, TensorBoardLogger)
        fan.log_hyperparams({"model": {"hidden": 3}, "lr": torch.tensor(0.5)})
        for step in range(5):
            fan.log_metrics({"loss": torch.tensor(1.0 / (step + 1)), "acc": step / 4}, step)
        fan.log_text("sample", "hello", step=4)
        fan.log_image("img", torch.ones(3, 2, 2), step=4)
        fan.log_histogram("w", model.weight, step=4, bins=8)
        fan.log_audio("clip", np.zeros(100), step=4, sample_rate=8000)
        fan.log_graph(model, torch.zeros(1, 3))
        fan.log_artifact(tmp_path, name="run")
        states = fan.state_dict()
    assert fan.summary.complete
    assert states == {"tensorboard": {"version": 0, "log_dir": tb.log_dir, "step": 4,
                                      "metric_tags": ["hp_metric", "loss", "acc"]}}
    assert tb.log_dir == str(tmp_path / "demo" / "version_0")

    acc = read_run(tb.log_dir)
    assert [e.value for e in acc.Scalars("loss")] == [np.float32(1 / (s + 1)) for s in range(5)]
    tags = acc.Tags()
    assert (tags["images"], tags["histograms"], tags["audio"], tags["graph"]) == (
        ["img"], ["w"], ["clip"], True)
    assert set(tags["tensors"]) >= {"sample/text_summary", "artifacts/run/text_summary",
                                    "_hparams_/experiment", "_hparams_/session_start_info",
                                    "_hparams_/session_end_info"}


def test_fanout_resume_by_name(tmp_path: Path, read_run) -> None:
    defaults = {"save_dir": str(tmp_path), "name": "demo"}
    with fanlog.FanOut(["tensorboard"], run_defaults=defaults, summary=False) as fan:
        for step in range(6):
            fan.log_metrics({"loss": float(step)}, step)
            if step == 2:
                states = fan.state_dict()
    with fanlog.FanOut(["tensorboard"], run_defaults=defaults, summary=False) as fan:
        fan.load_state_dict(states)
        for step in range(3, 6):
            fan.log_metrics({"loss": 10.0 + step}, step)
    acc = read_run(fan.backends["tensorboard"].log_dir)
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [
        (0, 0.0), (1, 1.0), (2, 2.0), (3, 13.0), (4, 14.0), (5, 15.0)]
