"""A resumed fit continues the same W&B run and does not store its steps twice."""

from __future__ import annotations

import json

import pytest
import wandb  # noqa: F401  (collected first, as the SDK wants)
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


def test_steps_stored_after_the_checkpoint_are_not_stored_again(tmp_path, read_runs):
    """The fit crashed after its checkpoint at step 5, so the run holds steps 0..9; the
    resumed fit logs 4..12. Offline wandb tells the resumed run nothing of the earlier
    segment: the backend reads that segment's transaction log."""
    first = WandbLogger(save_dir=tmp_path)
    for step in range(10):
        first.log_metrics({"loss": float(step)}, step)
        if step == 5:
            state = json.loads(json.dumps(first.state_dict()))  # the checkpoint
    first.finalize(Status.FAILED)
    assert state["step"] == 5

    second = WandbLogger(save_dir=tmp_path)
    second.load_state_dict(state)
    for step in range(4, 13):
        second.log_metrics({"loss": step + 0.5}, step)
    assert second.state_dict() == {"id": state["id"], "step": 12}
    second.finalize(Status.SUCCESS)

    before, after = read_runs(tmp_path)
    assert before.run["run_id"] == after.run["run_id"] == state["id"]
    assert [row[STEP] for row in before.history] == list(range(10))
    assert after.history == [{"loss": s + 0.5, STEP: s} for s in (10, 11, 12)]


def test_a_cut_off_log_holds_the_steps_up_to_its_last_whole_record(tmp_path, read_runs):
    """A segment whose writer died mid-record (its log spans several 32 KiB blocks): the
    steps in its readable part are not stored again, the lost ones are."""
    first = WandbLogger(save_dir=tmp_path)
    first.log_metrics({"loss": 0.0}, 0)
    state = first.state_dict()
    for step in range(1, 300):
        first.log_metrics({"loss": float(step), "note": "x" * 100}, step)
    first.finalize(Status.FAILED)
    (log,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    data = log.read_bytes()
    log.write_bytes(data[:len(data) * 2 // 3 + 1])
    (cut,) = read_runs(tmp_path)  # wandb's own reader stops at the incomplete record
    held = [row[STEP] for row in cut.history]
    assert held == list(range(len(held))) and 100 < len(held) < 300

    second = WandbLogger(save_dir=tmp_path)
    second.load_state_dict(state)
    for step in range(300):
        second.log_metrics({"loss": float(step)}, step)
    second.finalize(Status.SUCCESS)

    before, after = read_runs(tmp_path)
    assert before.history == cut.history
    assert [row[STEP] for row in after.history] == list(range(len(held), 300))


def test_the_summary_holds_the_last_step_as_an_online_resume_receives_it(tmp_path):
    """Online, a resumed run's summary is the server's copy of this one (wandb fills it on
    resume; no server here to resume against)."""
    from fanlog_wandb import stored

    logger = WandbLogger(save_dir=tmp_path)
    for step in (0, 3, 7):
        logger.log_metrics({"loss": float(step)}, step)
    assert stored.summary_step(logger.experiment, STEP) == 7
    logger.finalize(Status.SUCCESS)


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
