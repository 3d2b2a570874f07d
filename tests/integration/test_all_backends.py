"""Every first-party backend in one fan-out, offline: a fake training run reaches each one,
read back with each backend's own reader or files; then `fanlog plugins` with everything
installed still imports no SDK (tests/core/test_plugins.py checks that too)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from fanlog import FanOut
from fanlog.testing import fake_training_run
from fanlog.testing.network import blocked_network


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """The settings BACKENDS-OFFLINE.md lists, every folder under tmp_path."""
    env = {
        "HOME": tmp_path / "home", "MPLCONFIGDIR": tmp_path / "mpl",
        "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_ERROR_REPORTING": "false",
        "WANDB_DISABLE_GIT": "true", "WANDB_DISABLE_CODE": "true", "WANDB_CONSOLE": "off",
        "WANDB_X_DISABLE_STATS": "true", "WANDB_X_DISABLE_META": "true",
        "WANDB_DIR": tmp_path / "wandb", "WANDB_CONFIG_DIR": tmp_path / "wandb-config",
        "WANDB_CACHE_DIR": tmp_path / "wandb-cache", "WANDB_DATA_DIR": tmp_path / "wandb-data",
        "WANDB_ARTIFACT_DIR": tmp_path / "wandb-artifacts",
        "COMET_ERROR_TRACKING_ENABLE": "false", "COMET_DISPLAY_SUMMARY_LEVEL": "0",
        "NEPTUNE_DATA_DIRECTORY": tmp_path / "neptune",
    }
    for key, value in env.items():
        if key.endswith(("_DIR", "HOME", "DIRECTORY")):
            os.makedirs(value, exist_ok=True)
        monkeypatch.setenv(key, str(value))
    with blocked_network() as attempts:
        yield tmp_path
    assert not [a for a in attempts if a not in ("localhost", "127.0.0.1")], attempts


@pytest.mark.slow
def test_one_run_reaches_every_backend(offline):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    save = offline / "runs"
    loggers = ["console", "csv", "tensorboard", "wandb",
               {"name": "comet", "offline": True, "offline_directory": str(offline / "comet")},
               {"name": "neptune", "mode": "offline", "project": "fanlog/integration"}]
    with FanOut(loggers, run_defaults={"save_dir": str(save), "name": "all"},
                summary=False) as run:
        sent = fake_training_run(run, steps=20)
    summary = run.summary
    assert summary.complete, summary.format()
    assert list(summary.backends) == ["console", "csv", "tensorboard", "wandb", "comet",
                                      "neptune"]
    losses = sent["metrics"]["loss"]

    with open(run["csv"].metrics_file) as fh:
        rows = list(csv.DictReader(fh))
    assert [(int(r["step"]), float(r["loss"])) for r in rows] == losses

    acc = EventAccumulator(str(run["tensorboard"].log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    got = [(e.step, e.value) for e in acc.Scalars("loss")]
    assert [s for s, _ in got] == [s for s, _ in losses]
    assert all(v == pytest.approx(w, rel=1e-6) for (_, v), (_, w) in zip(got, losses,
                                                                         strict=True))

    assert list(save.rglob("*.wandb")), "no W&B offline run file under the run's save_dir"
    assert list((offline / "comet").glob("*.zip")), "no Comet offline archive"
    assert list((offline / "neptune").rglob("data-1.log")), "no Neptune offline store"


def test_plugins_listing_with_everything_installed_imports_no_sdk():
    code = ("import sys, json; from fanlog.cli import main; main(['plugins', '--json']);"
            "print(json.dumps(sorted(m for m in ('tensorboard', 'wandb', 'comet_ml', 'neptune',"
            " 'mlflow', 'fanlog_tensorboard', 'fanlog_wandb', 'fanlog_comet', 'fanlog_neptune',"
            " 'fanlog_mlflow') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    rows, imported = out.rsplit("\n", 2)[0], json.loads(out.strip().splitlines()[-1])
    assert imported == []
    names = {r["name"] for r in json.loads(rows)}
    assert {"console", "csv", "tensorboard", "wandb", "comet", "neptune"} <= names
