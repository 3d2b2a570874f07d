"""The README's main job: `fanlog demo` trains a small model with the Trainer and logs to
the embedded defaults that are installed."""

from __future__ import annotations

import csv

from fanlog.cli import main
from fanlog.demo import DEMO_LOGGERS, default_loggers


def test_demo_trains_and_logs_by_name(tmp_path, capsys):
    assert main(["demo", "--epochs", "3", "--save-dir", str(tmp_path), "--no-progress-bar",
                 "--loggers", "console,csv"]) == 0
    out = capsys.readouterr().out
    assert "Epoch(train) [1]" in out and "csv: " in out and "console: printed above" in out
    (metrics,) = tmp_path.rglob("metrics.csv")
    with open(metrics) as fh:
        rows = list(csv.DictReader(fh))
    epoch_loss = [float(r["train/loss_epoch"]) for r in rows if r.get("train/loss_epoch")]
    assert len(epoch_loss) == 3 and epoch_loss[-1] < epoch_loss[0]
    assert any(r.get("val/mae") for r in rows) and any(r.get("lr-SGD") for r in rows)
    assert list(tmp_path.rglob("*.ckpt")), "ModelCheckpoint wrote nothing"


def test_default_loggers_are_the_installed_embedded_defaults():
    chosen = default_loggers()
    assert chosen[:2] == ["console", "csv"]
    assert [n for n in DEMO_LOGGERS if n in chosen] == chosen
