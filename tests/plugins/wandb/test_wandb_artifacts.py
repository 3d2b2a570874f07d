"""Artifacts (checkpoints per ``log_model``, other files at once) and wandb.watch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import wandb  # noqa: F401  (collected first, as the SDK wants)
from fanlog_wandb import WandbLogger

from fanlog import FanOut, Status


def artifacts(run) -> list[dict]:
    """Each stored artifact: name, type, aliases, metadata and {file name: content}."""
    found = []
    for record in run.of("artifact"):
        files = {entry["path"]: Path(entry["local_path"]).read_bytes()
                 for entry in record["manifest"]["contents"]}
        found.append({"name": record["name"], "type": record["type"],
                      "aliases": sorted(record.get("aliases", [])),
                      "metadata": json.loads(record.get("metadata") or "{}"), "files": files})
    return found


def checkpoint(folder: Path, step: int) -> tuple[str, dict]:
    path = folder / f"epoch=0-step={step}.ckpt"
    path.write_bytes(b"weights at step %d" % step)
    return str(path), {"kind": "checkpoint", "step": step}


def test_log_model_false_keeps_checkpoints_local_but_stores_other_files(tmp_path, read_run):
    report = tmp_path / "report.txt"
    report.write_text("accuracy 0.9")
    logger = WandbLogger(save_dir=tmp_path / "runs")
    path, meta = checkpoint(tmp_path, 1)
    logger.log_artifact(path, None, meta)
    logger.log_artifact(str(report), "final report!", {"kind": "report", "epoch": 3})
    logger.finalize(Status.SUCCESS)
    assert artifacts(read_run(tmp_path / "runs")) == [{
        "name": "final-report", "type": "report", "aliases": ["latest"],
        "metadata": {"kind": "report", "epoch": 3}, "files": {"report.txt": b"accuracy 0.9"}}]


def test_log_model_all_stores_each_checkpoint_as_it_comes(tmp_path, read_run):
    logger = WandbLogger(save_dir=tmp_path / "runs", log_model="all", checkpoint_name="net")
    first, meta1 = checkpoint(tmp_path, 10)
    logger.log_artifact(first, None, meta1)
    second, meta2 = checkpoint(tmp_path, 20)
    logger.log_artifact(second, None, {**meta2, "best": True})
    Path(first).unlink()  # pruned by the checkpoint callback: already stored
    logger.finalize(Status.SUCCESS)
    assert artifacts(read_run(tmp_path / "runs")) == [
        {"name": "net", "type": "model", "aliases": ["latest"], "metadata": meta1,
         "files": {"epoch=0-step=10.ckpt": b"weights at step 10"}},
        {"name": "net", "type": "model", "aliases": ["best", "latest"],
         "metadata": {**meta2, "best": True},
         "files": {"epoch=0-step=20.ckpt": b"weights at step 20"}},
    ]


@pytest.mark.parametrize(("status", "stored"), [(Status.SUCCESS, [20, 30]), (Status.FAILED, [])])
def test_log_model_true_stores_remaining_checkpoints_at_a_successful_end(
        tmp_path, read_run, status, stored):
    logger = WandbLogger(save_dir=tmp_path / "runs", log_model=True)
    paths = {}
    for step in (10, 20, 30):
        paths[step], meta = checkpoint(tmp_path, step)
        logger.log_artifact(paths[step], None, meta)
    Path(paths[10]).unlink()
    logger.finalize(status)
    run = read_run(tmp_path / "runs")
    found = artifacts(run)
    assert [a["metadata"]["step"] for a in found] == stored
    assert all(a["name"] == f"model-{run.run['run_id']}" for a in found)


def test_watch_logs_gradients_and_parameters_then_unhooks(tmp_path, read_run):
    import torch
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    fan = FanOut([{"name": "wandb", "save_dir": str(tmp_path / "runs")}], summary=False)
    fan.watch(model, log="all", log_freq=1)
    for step in range(3):
        model(torch.ones(4, 3)).sum().backward()
        fan.log_metrics({"loss": float(step)}, step=step)
        # the histograms join the next row the worker writes: wait for this step's row
        # so that the next backward's histograms cannot join it (see the README)
        fan.flush()
    fan.finalize(Status.SUCCESS)
    model(torch.ones(1, 3)).sum().backward()  # hooks are gone: nothing logs to a finished run
    assert not model._forward_hooks and not model[0].weight._backward_hooks

    rows = read_run(tmp_path / "runs").history
    assert [row["trainer/global_step"] for row in rows] == [0, 1, 2]
    for row in rows:
        assert row["gradients/0.weight._type"] == "histogram"
        assert sum(row["gradients/0.weight.values"]) == 6  # one count per weight
        assert sum(row["parameters/0.bias.values"]) == 2
