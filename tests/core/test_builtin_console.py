"""The console backend's text lines."""

from __future__ import annotations

import re

from fanlog import FanOut, Status
from fanlog.builtin.console import ConsoleLogger

LINE = re.compile(r"^\d\d/\d\d \d\d:\d\d:\d\d - fanlog - INFO - (.*)$")


def messages(text):
    out = []
    for line in text.splitlines():
        match = LINE.match(line)
        assert match, line
        out.append(match.group(1))
    return out


def test_lines_for_every_hook(capsys):
    backend = ConsoleLogger(precision=4)
    backend.log_hyperparams({"opt": {"lr": 0.01}, "layers": 2})
    backend.log_metrics({"loss": 1.73881, "lr": 0.01, "tiny": 1.5e-05, "epoch": 3.0,
                         "bad": float("nan")}, step=10)
    backend.log_text("sample", "hello", 10)
    backend.log_artifact("/tmp/x.ckpt", None, {"kind": "checkpoint"})
    backend.finalize(Status.FAILED)
    backend.finalize(Status.FAILED)  # idempotent
    assert messages(capsys.readouterr().out) == [
        "hyperparameters: opt/lr=0.01, layers=2",
        "step 10  loss: 1.7388  lr: 0.0100  tiny: 1.5000e-05  epoch: 3  bad: nan",
        "sample (step 10): hello",
        "checkpoint saved: /tmp/x.ckpt",
        "run ended: failed",
    ]


def test_stderr_and_prefix_through_the_fanout(capsys):
    with FanOut([{"name": "console", "stream": "stderr", "prefix": "train"}],
                summary=False) as run:
        run.log_metrics({"loss": 0.5}, step=1)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert messages(captured.err) == ["step 1  train-loss: 0.5000", "run ended: success"]
