"""The README's main job with every embedded default installed: console, csv, TensorBoard and
MLflow on SQLite, each read back with its own reader."""

from __future__ import annotations

import pytest

from fanlog.cli import main


@pytest.mark.slow
def test_demo_logs_to_console_csv_tensorboard_and_mlflow(tmp_path, monkeypatch, capsys):
    from mlflow import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert main(["demo", "--epochs", "2", "--save-dir", str(tmp_path / "runs"),
                 "--no-progress-bar"]) == 0
    out = capsys.readouterr().out
    for line in ("  console: ", "  csv: ", "  tensorboard: tensorboard --logdir ",
                 "  mlflow: mlflow ui --backend-store-uri sqlite:///"):
        assert line in out, out
    uri = out.split("mlflow ui --backend-store-uri ")[1].split()[0]
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.status == "FINISHED"
    assert len(client.get_metric_history(run.info.run_id, "train/loss_epoch")) == 2
    assert run.data.params["lr"] == "0.05"
    (events,) = {p.parent for p in (tmp_path / "runs").rglob("events.out.tfevents.*")}
    acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
    acc.Reload()
    assert [e.step for e in acc.Scalars("train/loss_epoch")] == [
        m.step for m in client.get_metric_history(run.info.run_id, "train/loss_epoch")]
