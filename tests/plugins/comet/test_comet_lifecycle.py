"""The comet backend's run control: options, lazy start, status, resume, secrets, clean-up."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import comet_ml
import pytest
from fanlog_comet import CometLogger

from fanlog.status import Status
from tests.plugins.comet.comet_support import archives, only_archive, read_archive

KEY = "0123456789abcdef0123456789abcdef"


def offline(tmp_path, **options) -> CometLogger:
    return CometLogger(offline=True, offline_directory=tmp_path / "out", **options)


@pytest.mark.parametrize(("options", "error"), [
    ({"experiment_key": "too-short"}, ValueError),
    ({"experiment_key": "x" * 51}, ValueError),
    ({"offline": "yes"}, TypeError),
    ({"prefix": 3}, TypeError),
    ({"api_key": ""}, TypeError),
    ({"project_name": 7}, TypeError),
])
def test_bad_options_fail_at_construction(options, error):
    with pytest.raises(error):
        CometLogger(**options)


def test_constructing_does_not_import_comet_ml(tmp_path):
    code = ("import sys, fanlog_comet; b = fanlog_comet.CometLogger(offline=True); "
            "b.log_metrics; print('comet_ml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path, timeout=60)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(("status", "crashed"), [
    (Status.SUCCESS, False), (Status.FAILED, True), (Status.INTERRUPTED, True)])
def test_finalize_maps_status_promptly_and_cleanly(tmp_path, home, no_leftovers, status, crashed):
    logger = offline(tmp_path)
    logger.log_metrics({"x": 1.0}, 0)
    started = time.monotonic()
    logger.finalize(status)
    took = time.monotonic() - started
    logger.finalize(Status.SUCCESS)  # idempotent: the first status stands
    assert took < 5.0, f"finalize took {took:.1f} s (about 1 s expected)"
    archive = only_archive(tmp_path / "out")
    assert archive.others()["status"] == status.value
    assert archive.experiment["customer_error_reported"] is crashed
    if crashed:
        assert archive.experiment["customer_error_message"] == f"fanlog: run {status.value}"
    assert list(home.iterdir()) == []


def test_finalize_without_any_data_starts_nothing(tmp_path):
    logger = offline(tmp_path)
    logger.finalize(Status.SUCCESS)
    assert not (tmp_path / "out").exists()


def test_experiment_is_the_comet_experiment(tmp_path):

    logger = offline(tmp_path, experiment_name="native", project_name="p")
    exp = logger.experiment
    assert isinstance(exp, comet_ml.OfflineExperiment)
    assert logger.experiment is exp
    exp.log_other("direct", 1)
    logger.finalize(Status.SUCCESS)
    others = only_archive(tmp_path / "out").others()
    assert others["direct"] == 1 and others["Name"] == "native"


def test_resume_continues_the_experiment_without_repeating_steps(tmp_path):
    first = offline(tmp_path)
    for step in range(10):
        first.log_metrics({"loss": float(step)}, step)
    state = json.loads(json.dumps(first.state_dict()))  # it goes into checkpoints
    first.finalize(Status.INTERRUPTED)
    assert state["step"] == 9 and state["offline"] is True

    second = offline(tmp_path)
    second.load_state_dict(state)
    for step in range(5, 15):  # the restart replays steps 5..9
        second.log_metrics({"loss": float(step)}, step)
    assert second.state_dict() == {**state, "step": 14}
    second.finalize(Status.SUCCESS)

    before, after = (read_archive(path) for path in archives(tmp_path / "out"))
    assert after.experiment["offline_id"] == before.experiment["offline_id"]
    assert after.experiment["resume_strategy"] == "get"
    assert before.metrics()["loss"] == [(s, float(s)) for s in range(10)]
    assert after.metrics()["loss"] == [(s, float(s)) for s in range(10, 15)]


def test_steps_stored_after_the_checkpoint_are_not_stored_again(tmp_path):
    """The fit crashed after its checkpoint at step 5, so the experiment holds steps 0..9;
    the resumed fit logs 4..12. comet_ml tells an offline resume nothing of what was stored:
    the backend reads the experiment's earlier archive."""
    first = offline(tmp_path)
    for step in range(10):
        first.log_metrics({"loss": float(step)}, step)
        if step == 5:
            state = json.loads(json.dumps(first.state_dict()))  # the checkpoint
    first.finalize(Status.FAILED)
    assert state["step"] == 5

    second = offline(tmp_path)
    second.load_state_dict(state)
    for step in range(4, 13):
        second.log_metrics({"loss": step + 0.5}, step)
    assert second.state_dict() == {**state, "step": 12}
    second.finalize(Status.SUCCESS)

    before, after = (read_archive(path) for path in archives(tmp_path / "out"))
    assert after.experiment["offline_id"] == before.experiment["offline_id"]
    assert before.metrics()["loss"] == [(s, float(s)) for s in range(10)]
    assert after.metrics()["loss"] == [(s, s + 0.5) for s in (10, 11, 12)]


def test_experiment_key_option_continues_that_experiment(tmp_path):
    logger = offline(tmp_path, experiment_key=KEY)
    logger.log_metrics({"x": 1.0}, 0)
    assert logger.state_dict()["experiment_key"] == KEY
    logger.finalize(Status.SUCCESS)
    archive = only_archive(tmp_path / "out")
    assert archive.experiment["offline_id"] == KEY
    assert archive.experiment["resume_strategy"] == "get"


def test_load_state_dict_after_logging_is_refused(tmp_path):
    logger = offline(tmp_path)
    logger.log_metrics({"x": 1.0}, 0)
    with pytest.raises(RuntimeError, match="before anything is logged"):
        logger.load_state_dict({"experiment_key": KEY, "step": 3})
    logger.finalize(Status.SUCCESS)


def test_api_key_is_never_written(tmp_path, capfd, caplog):
    secret = "fanlogSecretApiKey0123456789"
    logger = offline(tmp_path, api_key=secret)
    logger.log_hyperparams({"lr": 0.1})
    logger.log_metrics({"x": 1.0}, 0)
    state, shown = json.dumps(logger.state_dict()), repr(logger)
    logger.finalize(Status.SUCCESS)
    out, err = capfd.readouterr()
    archive = only_archive(tmp_path / "out")
    for where, text in (("archive", archive.text()), ("state", state), ("repr", shown),
                        ("stdout", out), ("stderr", err), ("log", caplog.text)):
        assert secret not in text, f"the API key appears in the {where}"


def test_offline_archives_go_under_save_dir(tmp_path):
    logger = CometLogger(offline=True, save_dir=tmp_path / "runs")
    logger.log_metrics({"x": 1.0}, 0)
    logger.finalize(Status.SUCCESS)
    assert len(archives(tmp_path / "runs" / "comet")) == 1


def test_online_without_an_api_key_fails_at_start_without_network(monkeypatch):
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    logger = CometLogger(project_name="p")  # cheap: nothing checked until the run starts
    with pytest.raises(ValueError, match="API key"):
        logger.log_metrics({"x": 1.0}, 0)
