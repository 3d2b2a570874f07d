"""The neptune backend's run control: options, lazy start, status, resume, secrets, clean-up,
and debug mode read back with neptune's own ``fetch``/``fetch_values``."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import neptune  # noqa: F401  (collected first, as the SDK wants)
import pytest
from fanlog_neptune import NeptuneLogger

from fanlog.status import Status
from tests.plugins.neptune.neptune_support import offline_runs, only_run, replay


@pytest.mark.parametrize(("options", "error"), [
    ({"mode": "online"}, ValueError),
    ({"mode": "read-only"}, ValueError),
    ({"mode": "offline", "with_id": "SAN-3"}, ValueError),
    ({"mode": "debug", "with_id": "SAN-3"}, ValueError),
    ({"prefix": 3}, TypeError),
    ({"api_key": ""}, TypeError),
    ({"log_model_checkpoints": "yes"}, TypeError),
    ({"stop_timeout": -1}, ValueError),
])
def test_bad_options_fail_at_construction(options, error):
    with pytest.raises(error):
        NeptuneLogger(**options)


def test_constructing_does_not_import_neptune(tmp_path):
    code = ("import sys, fanlog_neptune; fanlog_neptune.NeptuneLogger(mode='offline'); "
            "print('neptune' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path, timeout=60)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(("status", "failed"), [
    (Status.SUCCESS, False), (Status.FAILED, True), (Status.INTERRUPTED, True)])
def test_finalize_maps_status_promptly_and_cleanly(tmp_path, data_dir, home, no_leftovers,
                                                   status, failed):
    logger = NeptuneLogger(mode="offline")
    logger.log_metrics({"x": 1.0}, 0)
    started = time.monotonic()
    logger.finalize(status)
    took = time.monotonic() - started
    logger.finalize(Status.SUCCESS)  # idempotent: the first status stands
    assert took < 2.0, f"finalize took {took:.2f} s"
    run = only_run(data_dir, tmp_path / "replay")
    assert run.value("training/status") == status.value
    assert run.value("sys/failed") is failed
    assert list(home.iterdir()) == []


def test_finalize_without_any_data_starts_nothing(data_dir):
    logger = NeptuneLogger(mode="offline")
    logger.finalize(Status.SUCCESS)
    assert not data_dir.exists()


def test_experiment_is_the_neptune_run(tmp_path, data_dir):
    from neptune import Run

    logger = NeptuneLogger(mode="offline", prefix="")
    run = logger.experiment
    assert isinstance(run, Run) and logger.experiment is run
    run["direct"] = 1.5
    logger.log_metrics({"x": 2.0}, 3)
    logger.finalize(Status.SUCCESS)
    replayed = only_run(data_dir, tmp_path / "replay")
    assert replayed.value("direct") == 1.5
    assert replayed.floats("x") == [(3, 2.0)]  # prefix "": the root namespace
    assert replayed.value("status") == "success"


def test_offline_resume_goes_on_in_a_new_run_without_repeating_steps(tmp_path, data_dir,
                                                                     caplog):
    first = NeptuneLogger(mode="offline")
    for step in range(10):
        first.log_metrics({"loss": float(step)}, step)
    state = json.loads(json.dumps(first.state_dict()))  # it goes into checkpoints
    first.finalize(Status.INTERRUPTED)
    assert state == {"run_id": None, "mode": "offline", "step": 9,
                     "offline_dirs": [str(offline_runs(data_dir)[0].resolve())]}

    second = NeptuneLogger(mode="offline")
    with caplog.at_level(logging.WARNING, logger="fanlog.neptune"):
        second.load_state_dict(state)
    assert "new run" in caplog.text
    for step in range(5, 15):  # the restart replays steps 5..9
        second.log_metrics({"loss": float(step)}, step)
    second.finalize(Status.SUCCESS)

    before, after = (replay(path, tmp_path / f"replay{i}")
                     for i, path in enumerate(offline_runs(data_dir)))
    assert before.floats("training/loss") == [(s, float(s)) for s in range(10)]
    assert after.floats("training/loss") == [(s, float(s)) for s in range(10, 15)]


def test_resume_skips_what_every_earlier_offline_run_holds(tmp_path, data_dir):
    """Two crashes after their checkpoints: the third run reads both earlier stores (the
    state carries their folders) and a folder that is gone is left alone, not recreated."""
    first = NeptuneLogger(mode="offline")
    for step in range(8):
        first.log_metrics({"loss": float(step)}, step)
        if step == 3:
            state = first.state_dict()
    first.finalize(Status.FAILED)
    second = NeptuneLogger(mode="offline")
    second.load_state_dict(state)
    second.log_metrics({"loss": 8.0}, 8)
    state = second.state_dict()  # step 8, both folders
    for step in range(9, 12):
        second.log_metrics({"loss": float(step)}, step)
    second.finalize(Status.FAILED)
    gone = str(tmp_path / "gone")
    third = NeptuneLogger(mode="offline")
    third.load_state_dict({**state, "offline_dirs": [gone, *state["offline_dirs"]]})
    for step in range(6, 14):
        third.log_metrics({"loss": step + 0.5}, step)
    third.finalize(Status.SUCCESS)
    assert not Path(gone).exists()
    runs = [replay(path, tmp_path / f"replay{i}").floats("training/loss")
            for i, path in enumerate(offline_runs(data_dir))]
    assert runs == [[(s, float(s)) for s in range(8)], [(s, float(s)) for s in range(8, 12)],
                    [(12, 12.5), (13, 13.5)]]


def test_server_step_reads_the_last_step_of_metric_series(data_dir):
    """The online look-up, on a debug run (neptune's in-memory backend answers the same
    calls as the server). That backend numbers points by index, so the steps logged here
    start at 0 and follow each other: this checks which series count, not the server."""
    from fanlog_neptune import stored

    logger = NeptuneLogger(mode="debug")
    for step in range(4):
        logger.log_metrics({"loss": float(step)}, step)
    logger.log_metrics({"acc": 0.5, "bad": float("nan")}, 0)
    logger.log_text("note", "not a metric", 0)
    run = logger.experiment
    for step in range(5):  # outside the prefix
        run["elsewhere/x"].append(float(step), step=step)
    assert stored.server_step(run, "training", "nonfinite") == 3
    assert stored.server_step(run, "", "nonfinite") == 4
    assert stored.server_step(run, "nothing", "nonfinite") is None
    logger.finalize(Status.SUCCESS)


def test_load_state_dict_after_logging_is_refused():
    logger = NeptuneLogger(mode="debug")
    logger.log_metrics({"x": 1.0}, 0)
    with pytest.raises(RuntimeError, match="before anything is logged"):
        logger.load_state_dict({"run_id": None, "mode": "debug", "step": 3})
    logger.finalize(Status.SUCCESS)


def test_server_mode_without_an_api_token_fails_at_start_without_network():
    from neptune.exceptions import NeptuneMissingApiTokenException

    logger = NeptuneLogger(project="ws/proj")  # async: nothing checked until the run starts
    with pytest.raises(NeptuneMissingApiTokenException):
        logger.log_metrics({"x": 1.0}, 0)


def test_api_key_is_never_written(tmp_path, data_dir, capfd, caplog):
    secret = "fanlogSecretNeptuneToken0123456789"
    logger = NeptuneLogger(mode="offline", api_key=secret)
    logger.log_hyperparams({"lr": 0.1})
    logger.log_metrics({"x": 1.0}, 0)
    state, shown = json.dumps(logger.state_dict()), repr(logger)
    logger.finalize(Status.SUCCESS)
    out, err = capfd.readouterr()
    stored = "\n".join(p.read_bytes().decode("latin-1") for p in data_dir.rglob("*")
                       if p.is_file())
    assert "x" in stored  # the store was read
    for where, text in (("offline store", stored), ("state", state), ("repr", shown),
                        ("stdout", out), ("stderr", err), ("log", caplog.text)):
        assert secret not in text, f"the API key appears in the {where}"


def test_checkpoints_can_be_left_out(tmp_path, data_dir):
    checkpoint, report = tmp_path / "last.ckpt", tmp_path / "report.txt"
    checkpoint.write_bytes(b"weights")
    report.write_text("kept")
    logger = NeptuneLogger(mode="offline", log_model_checkpoints=False)
    logger.log_artifact(str(checkpoint), None, {"kind": "checkpoint"})
    logger.log_artifact(str(report), None, {})
    logger.finalize(Status.SUCCESS)
    replayed = only_run(data_dir, tmp_path / "replay")
    assert not [p for p in replayed.paths() if p.startswith("training/model")]
    assert replayed.file("training/artifacts/report/file") == b"kept"


def test_debug_mode_reads_back_with_fetch(data_dir):
    logger = NeptuneLogger(mode="debug", name="dbg")
    logger.log_hyperparams({"opt": {"lr": 0.5}, "tags": ["a", "b"]})
    for step in range(20):
        logger.log_metrics({"loss": 1.0 / (step + 1)}, step)
    logger.log_text("sample", "hello", 3)
    run = logger.experiment
    assert run["training/loss"].fetch_values()["value"].tolist() == [
        1.0 / (s + 1) for s in range(20)]
    assert run["training/text/sample"].fetch_values()["value"].tolist() == ["hello"]
    assert run["training/hyperparams"].fetch() == {"opt": {"lr": 0.5}, "tags": "['a', 'b']"}
    assert run["sys/name"].fetch() == "dbg"
    logger.finalize(Status.FAILED)
    # Debug mode keeps everything in memory (neptune only makes an empty "sync" folder).
    assert not [p for p in data_dir.rglob("*") if p.is_file()]
