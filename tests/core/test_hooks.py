"""Each logger hook, exercised end to end through the fan-out (named test_hook_<name>, which
tests/core/test_docs.py checks for every hook)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fanlog import FanOut, Status
from fanlog.testing import RecordingLogger


@pytest.fixture
def rec():
    return RecordingLogger()


@pytest.fixture
def run(rec):
    fan = FanOut([rec], summary=False)
    yield fan
    fan.finalize()


def test_hook_log_hyperparams(run, rec):
    run.log_hyperparams({"a": {"b": 1}})
    run.flush()
    assert rec.of("log_hyperparams") == [{"params": {"a": {"b": 1}}}]


def test_hook_log_metrics(run, rec):
    run.log_metrics({"x": torch.tensor(2.5)}, step=4)
    run.flush()
    assert rec.of("log_metrics") == [{"metrics": {"x": 2.5}, "step": 4}]


def test_hook_log_text(run, rec):
    run.log_text("k", "hello", 2)
    run.flush()
    assert rec.of("log_text") == [{"key": "k", "text": "hello", "step": 2}]


def test_hook_log_image(run, rec):
    run.log_image("img", torch.zeros(2, 3, 4, 5), 1, dataformats="NCHW")
    run.flush()
    (call,) = rec.of("log_image")
    assert call["image"].shape == (2, 3, 4, 5) and call["dataformats"] == "NCHW"


def test_hook_log_histogram(run, rec):
    run.log_histogram("w", torch.arange(6.0).reshape(2, 3), 3, bins=8)
    run.flush()
    (call,) = rec.of("log_histogram")
    assert call["values"].tolist() == [0, 1, 2, 3, 4, 5] and call["bins"] == 8


def test_hook_log_audio(run, rec):
    run.log_audio("a", np.zeros((2, 100), dtype=np.float32), 0, sample_rate=22050)
    run.flush()
    (call,) = rec.of("log_audio")
    assert call["audio"].shape == (2, 100) and call["sample_rate"] == 22050


def test_hook_log_figure(run, rec):
    import matplotlib.pyplot as plt
    fig = plt.figure()
    run.log_figure("f", fig, 1, close=False)
    run.flush()
    assert rec.of("log_figure") == [{"key": "f", "figure": fig, "step": 1}]
    plt.close(fig)


def test_hook_log_graph(run, rec):
    model = torch.nn.Linear(2, 1)
    run.log_graph(model, torch.zeros(1, 2))
    (call,) = rec.of("log_graph")
    assert call["model"] is model and call["example_input"].shape == (1, 2)


def test_hook_log_artifact(run, rec, tmp_path):
    path = tmp_path / "m.ckpt"
    path.write_bytes(b"x")
    run.log_artifact(path, "m.ckpt", {"kind": "checkpoint", "score": torch.tensor(0.5)})
    run.flush()
    assert rec.of("log_artifact") == [{"path": str(path), "name": "m.ckpt",
                                       "metadata": {"kind": "checkpoint", "score": 0.5}}]


def test_hook_watch(run, rec):
    model = torch.nn.Linear(2, 1)
    run.watch(model, log="all", log_freq=10)
    assert rec.of("watch") == [{"model": model, "log": "all", "log_freq": 10}]


def test_hook_save(run, rec):
    run.flush()
    assert rec.of("save") == [{}]


def test_hook_finalize(rec):
    FanOut([rec], summary=False).finalize(Status.INTERRUPTED)
    assert rec.of("finalize") == [{"status": Status.INTERRUPTED}]


def test_hook_state_dict(run, rec):
    run.log_metrics({"x": 1}, step=9)
    assert run.state_dict() == {"recordinglogger": {"step": 9}}


def test_hook_load_state_dict(run, rec):
    run.load_state_dict({"recordinglogger": {"step": 3}})
    assert rec.of("load_state_dict") == [{"state": {"step": 3}}]
