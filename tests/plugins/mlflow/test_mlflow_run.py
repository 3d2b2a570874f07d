"""The run's life: options, lazy start, end status, resume, and the path by name through
``fanlog.FanOut``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import mlflow  # noqa: F401  (collected first, as the SDK wants)
import pytest
from fanlog_mlflow import MLFlowLogger

from fanlog import ConfigError, FanOut, Status


def steps(client, run_id: str, key: str) -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, key))


@pytest.mark.parametrize("options, error", [
    ({"log_model": "best"}, "log_model must be"),
    ({"experiment_name": ""}, "experiment_name must be"),
    ({"tags": [("a", 1)]}, "tags must be a dict"),
])
def test_bad_options_fail_in_the_constructor(options, error):
    with pytest.raises((ValueError, TypeError), match=error):
        MLFlowLogger(**options)


def test_tracking_uri_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/mlflow.db")
    logger = MLFlowLogger(save_dir=tmp_path)
    assert logger.tracking_uri == "sqlite:////elsewhere/mlflow.db"
    assert logger.artifact_location == (tmp_path / "mlartifacts").as_uri()  # not ./mlruns
    assert MLFlowLogger(tracking_uri="http://127.0.0.1:1").tracking_uri == "http://127.0.0.1:1"


def test_bad_options_fail_before_the_fan_out_starts():
    with pytest.raises(ConfigError, match="log_model"):
        FanOut([{"name": "mlflow", "log_model": "sometimes"}], summary=False)


@pytest.mark.slow
def test_mlflow_is_imported_only_when_the_run_starts(store_uri, tmp_path):
    """Listing plugins, building the fan-out and its backend import no MLflow (~2 s)."""
    script = textwrap.dedent(f"""
        import sys
        from fanlog import FanOut
        from fanlog.plugins import discover
        assert "mlflow" in discover().names()
        fan = FanOut([{{"name": "mlflow", "tracking_uri": {store_uri!r}}}],
                     run_defaults={{"save_dir": {str(tmp_path / "logs")!r}}}, summary=False)
        print("before:", "mlflow" in sys.modules)
        fan.log_metrics({{"loss": 1.0}}, step=0)
        fan.flush()
        print("after:", "mlflow" in sys.modules)
        fan.finalize()
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "before: False" in out.stdout and "after: True" in out.stdout


def test_default_store_is_sqlite_under_save_dir_through_fanout_by_name(tmp_path):
    from mlflow import MlflowClient

    save_dir = tmp_path / "runs"
    with FanOut(["mlflow"], run_defaults={"save_dir": str(save_dir)}, summary=False) as fan:
        fan.log_hyperparams({"model": {"width": 64}})
        for step in range(5):
            fan.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        fan.log_text("notes", "hello", step=None)
        backend = fan.backends["mlflow"]
    assert backend.tracking_uri == f"sqlite:///{save_dir / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=backend.tracking_uri)
    run = client.get_run(backend.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"model/width": "64"}
    assert steps(client, backend.run_id, "loss") == [0, 1, 2, 3, 4]
    assert run.info.artifact_uri.startswith((save_dir / "mlartifacts").as_uri())
    assert (save_dir / "mlartifacts" / backend.run_id / "artifacts/text/notes.txt").exists()


@pytest.mark.parametrize("error, status", [(RuntimeError, "FAILED"), (KeyboardInterrupt, "KILLED")])
def test_a_crashed_run_is_not_left_running(store_uri, client, tmp_path, error, status):
    options = {"name": "mlflow", "tracking_uri": store_uri, "experiment_name": "crashes"}
    with pytest.raises(error), FanOut([options], summary=False) as fan:
        fan.log_metrics({"loss": 1.0}, step=0)
        raise error()
    assert client.get_run(fan.backends["mlflow"].run_id).info.status == status


@pytest.mark.parametrize("status, expected", [
    (Status.SUCCESS, "FINISHED"), (Status.FAILED, "FAILED"), (Status.INTERRUPTED, "KILLED")])
def test_finalize_maps_status_once(make_logger, client, status, expected):
    logger = make_logger()
    logger.log_metrics({"x": 1.0}, 0)
    logger.finalize(status)
    logger.finalize(Status.SUCCESS)  # idempotent: the first status stays
    assert client.get_run(logger.run_id).info.status == expected


def test_finalize_without_anything_logged_creates_no_run(make_logger, client):
    logger = make_logger(experiment_name="nothing-logged")
    logger.finalize(Status.SUCCESS)
    assert client.get_experiment_by_name("nothing-logged") is None


def test_experiment_is_the_native_client(make_logger, client):
    from mlflow import MlflowClient

    logger = make_logger()
    assert isinstance(logger.experiment, MlflowClient)
    logger.experiment.log_metric(logger.run_id, "native", 2.0, step=4)
    run = client.get_run(logger.run_id)
    assert run.data.metrics == {"native": 2.0}
    assert run.info.experiment_id == logger.experiment_id
    assert client.get_experiment(logger.experiment_id).name == logger.experiment_name


def test_resume_continues_the_run_without_storing_a_step_twice(make_logger, client):
    first = make_logger()
    for step in range(10):
        first.log_metrics({"loss": float(step)}, step)
        if step == 5:
            state = first.state_dict()  # the checkpoint; the run goes on to step 9, then dies
    first.finalize(Status.FAILED)
    assert state["step"] == 5 and state["tracking_uri"] == first.tracking_uri

    second = make_logger()
    second.load_state_dict(state)
    for step in range(6, 15):  # training resumes after the checkpoint's step
        second.log_metrics({"loss": float(step) + 0.5}, step)
    assert second.run_id == first.run_id and second.experiment_id == state["experiment_id"]
    assert client.get_run(second.run_id).info.status == "RUNNING"
    second.finalize(Status.SUCCESS)

    history = sorted((m.step, m.value) for m in client.get_metric_history(second.run_id, "loss"))
    assert [s for s, _ in history] == list(range(15))  # every step exactly once
    assert history[9] == (9, 9.0) and history[10] == (10, 10.5)
    assert client.get_run(second.run_id).info.status == "FINISHED"
    assert second.state_dict()["step"] == 14


def test_resume_through_fanout_state(store_uri, client, tmp_path):
    options = [{"name": "mlflow", "tracking_uri": store_uri, "experiment_name": "fan-resume"}]
    with FanOut(options, summary=False) as fan:
        fan.log_metrics({"loss": 1.0}, step=0)
        states = fan.state_dict()
    with FanOut(options, summary=False) as fan:
        fan.load_state_dict(states)
        fan.log_metrics({"loss": 9.0}, step=0)  # already stored: dropped
        fan.log_metrics({"loss": 2.0}, step=1)
    run_id = states["mlflow"]["run_id"]
    assert fan.backends["mlflow"].run_id == run_id
    history = sorted((m.step, m.value) for m in client.get_metric_history(run_id, "loss"))
    assert history == [(0, 1.0), (1, 2.0)]


def test_run_id_option_continues_a_run_and_updates_tags(make_logger, client):
    first = make_logger(tags={"phase": "pretrain"})
    first.log_metrics({"loss": 1.0}, 0)
    first.finalize(Status.SUCCESS)
    second = make_logger(run_id=first.run_id, tags={"phase": "finetune"}, run_name="ft")
    second.log_metrics({"loss": 0.5}, 0)  # a new phase may log its own step 0
    second.log_hyperparams({"lr": 0.1})
    run = client.get_run(first.run_id)
    assert run.info.status == "RUNNING" and run.info.run_name == "ft"
    assert run.data.tags["phase"] == "finetune"
    assert steps(client, first.run_id, "loss") == [0, 0]


def test_file_store(tmp_path, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 refuses file stores else
    uri = (tmp_path / "mlruns").as_uri()
    logger = MLFlowLogger(tracking_uri=uri, save_dir=tmp_path / "logs")
    logger.log_hyperparams({"a": 1})
    logger.log_metrics({"loss": 0.25}, 3)
    logger.log_text("t", "x", 1)
    logger.finalize(Status.SUCCESS)
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(logger.run_id)
    assert (run.info.status, run.data.params, run.data.metrics) == (
        "FINISHED", {"a": "1"}, {"loss": 0.25})
    assert [a.path for a in client.list_artifacts(logger.run_id, "text/t")] == [
        "text/t/step_000001.txt"]
    assert logger.artifact_location is None  # a file store keeps artifacts in its own folder
    assert not (tmp_path / "logs").exists()


def test_runs_starting_together_share_the_new_experiment(make_logger, client):
    """Runs of a sweep start at once: each may find no experiment and try to create it."""
    loggers = [make_logger(experiment_name="started-together") for _ in range(6)]
    barrier = threading.Barrier(len(loggers))
    errors: list[BaseException] = []

    def start(logger: MLFlowLogger) -> None:
        barrier.wait()
        try:
            logger.log_metrics({"x": 1.0}, 0)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(lg,)) for lg in loggers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    experiment = client.get_experiment_by_name("started-together")
    assert {lg.experiment_id for lg in loggers} == {experiment.experiment_id}
