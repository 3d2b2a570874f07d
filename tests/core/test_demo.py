"""The plain-loop demo (the README's main job until the trainer exists)."""

from __future__ import annotations

import csv

from fanlog.cli import main


def test_demo_trains_and_logs_by_name(tmp_path, capsys):
    assert main(["demo", "--steps", "40", "--save-dir", str(tmp_path),
                 "--loggers", "console,csv"]) == 0
    out = capsys.readouterr().out
    assert "step 0  train/loss:" in out and "csv:" in out
    with open(tmp_path / "demo" / "version_0" / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [0, 10, 20, 30, 39]
    assert float(rows[-1]["train/loss"]) < float(rows[0]["train/loss"])
