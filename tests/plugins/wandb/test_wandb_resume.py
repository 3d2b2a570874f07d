"""A resumed fit continues the same W&B run and does not store its steps twice."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("wandb")
pytest.importorskip("fanlog_wandb")

from fanlog_wandb import WandbLogger

from fanlog import FanOut, Status

STEP = "trainer/global_step"


def test_resume_continues_the_run_without_duplicate_steps(tmp_path, read_runs):
    defaults = {"save_dir": str(tmp_path / "runs"), "name": "long-fit"}
    fan = FanOut(["wandb"], run_defaults=defaults, summary=False)
    for step in range(5):
        fan.log_metrics({"loss": float(step)}, step=step)
    state = json.loads(json.dumps(fan.state_dict()))  # as stored in a checkpoint
    fan.finalize(Status.INTERRUPTED)
    run_id = state["wandb"]["id"]
    assert state["wandb"] == {"id": run_id, "step": 4}

    fan = FanOut(["wandb"], run_defaults=defaults, summary=False)
    fan.load_state_dict(state)
    for step in range(3, 8):  # the fit restarts from an earlier checkpoint
        fan.log_metrics({"loss": step + 0.5}, step=step)
    assert fan.state_dict()["wandb"] == {"id": run_id, "step": 7}
    fan.finalize(Status.SUCCESS)

    first, second = read_runs(tmp_path / "runs")
    assert first.run["run_id"] == second.run["run_id"] == run_id
    assert "resume" not in first.run and second.run["resume"] is True
    assert [row[STEP] for row in first.history] == [0, 1, 2, 3, 4]
    assert second.history == [{"loss": s + 0.5, STEP: s} for s in (5, 6, 7)]
    assert (first.exit_code, second.exit_code) == (255, 0)


def test_state_without_a_run_id_only_skips_stored_steps(tmp_path, read_run):
    logger = WandbLogger(save_dir=tmp_path)
    logger.load_state_dict({"id": None, "step": 2})
    for step in range(5):
        logger.log_metrics({"x": float(step)}, step)
    logger.finalize(Status.SUCCESS)
    run = read_run(tmp_path)
    assert "resume" not in run.run
    assert [row[STEP] for row in run.history] == [3, 4]


def test_load_state_dict_after_the_run_started_is_refused(tmp_path):
    logger = WandbLogger(save_dir=tmp_path)
    logger.log_metrics({"x": 1.0}, 0)
    with pytest.raises(RuntimeError, match="before anything is logged"):
        logger.load_state_dict({"id": "other", "step": 0})
    logger.finalize(Status.SUCCESS)
