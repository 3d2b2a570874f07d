"""Against a real ``mlflow server`` (SQLite backend, proxied artifacts): a full run read back
over HTTP, and a server that dies in the middle of training."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from fanlog_mlflow import MLFlowLogger

from fanlog import FanOut, Status

pytestmark = pytest.mark.slow  # starts a real mlflow server (10-20 s)


def test_a_run_against_a_server(mlflow_server, tmp_path):
    from mlflow import MlflowClient

    logger = MLFlowLogger(tracking_uri=mlflow_server, experiment_name="server-run",
                          save_dir=tmp_path / "logs", log_model="all")
    assert logger.artifact_location is None  # the server decides where artifacts go
    logger.log_hyperparams({f"p{i}": i for i in range(150)})
    wide = {f"m{i:04d}": float(i) for i in range(2500)}  # 3 requests: 1000 metrics each at most
    logger.log_metrics(wide, 0)
    for step in range(1, 4):
        logger.log_metrics({"loss": 1.0 / step}, step)
    ckpt = tmp_path / "epoch=1.ckpt"
    ckpt.write_bytes(b"\0" * 1000)
    logger.log_artifact(str(ckpt), None, {"kind": "checkpoint", "step": 3})
    logger.finalize(Status.SUCCESS)

    client = MlflowClient(tracking_uri=mlflow_server)
    run = client.get_run(logger.run_id)
    assert run.info.status == "FINISHED"
    assert len(run.data.params) == 150
    assert run.data.metrics == {**wide, "loss": 1 / 3}
    assert [(m.step, m.value) for m in client.get_metric_history(logger.run_id, "loss")] == [
        (1, 1.0), (2, 0.5), (3, 1 / 3)]
    assert [a.path for a in client.list_artifacts(logger.run_id, "checkpoints/epoch=1")] == [
        "checkpoints/epoch=1/aliases.txt", "checkpoints/epoch=1/epoch=1.ckpt",
        "checkpoints/epoch=1/metadata.yaml"]
    local = client.download_artifacts(logger.run_id, "checkpoints/epoch=1/epoch=1.ckpt",
                                      str(tmp_path / "dl"))
    assert Path(local).read_bytes() == b"\0" * 1000


def test_server_dying_mid_run_loses_only_mlflow_data(mlflow_server, relay, tmp_path):
    """Training goes on through the fan-out, csv keeps every value, and the summary says
    what MLflow lost. (The relay stands in for the server so that the session's server,
    which is slow to start, survives: to the client both die the same way.)"""
    from mlflow import MlflowClient

    fan = FanOut(["csv", {"name": "mlflow", "tracking_uri": relay.url,
                          "experiment_name": "dies"}],
                 run_defaults={"save_dir": str(tmp_path / "logs")}, summary=False)
    started = time.monotonic()
    for step in range(100):
        fan.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        if step == 49:
            fan.flush()  # steps 0-49 are on the server
            run_id = fan.backends["mlflow"].run_id
            relay.kill()
    summary = fan.finalize(Status.SUCCESS)
    assert time.monotonic() - started < 60  # no wait on network time-outs or retries

    with open(fan.backends["csv"].metrics_file) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(100))
    assert summary.backends["csv"].lost == 0 and summary.backends["csv"].state == "ok"

    lost = summary.backends["mlflow"]
    assert lost.state == "failed" and "Connection" in lost.error
    # steps 0-49 and the flush's save (waiting for async logging); the rest (and the final
    # status) never arrived
    assert lost.delivered == 51
    assert lost.lost == lost.received - 51 >= 51
    assert "mlflow" in summary.format() and not summary.complete

    stored = MlflowClient(tracking_uri=mlflow_server).get_metric_history(run_id, "loss")
    assert sorted(m.step for m in stored) == list(range(50))
