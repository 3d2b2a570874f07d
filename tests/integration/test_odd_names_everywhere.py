"""The 28 odd-but-valid metric names of tests/core/test_names_and_values.py, sent in one run
to every first-party backend at once (offline): none is fenced, none loses a call, and
metrics.csv reads back whole."""

from __future__ import annotations

import csv

import pytest

from fanlog import FanOut
from tests.core.test_names_and_values import ODD_NAMES
from tests.integration.test_all_backends import offline  # noqa: F401 (a fixture)

for module in ("fanlog_tensorboard", "fanlog_wandb", "fanlog_comet", "fanlog_neptune",
               "fanlog_mlflow"):
    pytest.importorskip(module, reason="needs every first-party plugin (tox env 'all')")


def loggers(root, which):
    return {
        "csv": "csv", "tensorboard": "tensorboard", "wandb": "wandb",
        "comet": {"name": "comet", "offline": True, "offline_directory": str(root / "comet")},
        "neptune": {"name": "neptune", "mode": "offline", "project": "fanlog/odd-names"},
        "mlflow": {"name": "mlflow", "tracking_uri": f"sqlite:///{root / 'mlflow.db'}"},
    }[which]


@pytest.mark.slow
@pytest.mark.parametrize("which", [
    "csv", "tensorboard", "wandb", "comet", "neptune", "mlflow",
])
def test_odd_names_fence_no_backend(offline, which):  # noqa: F811
    with FanOut(
            ["csv", loggers(offline, which)] if which != "csv" else ["csv"],
            run_defaults={"save_dir": str(offline / "runs"), "name": "odd"},
            summary=False) as run:
        for step, name in enumerate(ODD_NAMES):
            run.log_metrics({name: step + 0.5, "loss": 1.0 / (step + 1)}, step=step)
        run.log_metrics(dict.fromkeys(ODD_NAMES, 1e-05), step=len(ODD_NAMES))
    summary = run.summary
    assert summary.complete, summary.format()
    with open(run["csv"].metrics_file, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(ODD_NAMES) + 1 and set(ODD_NAMES) <= set(rows[0])
