"""The comet backend selected by name through fanlog.FanOut: entry-point discovery, the
worker thread (comet_ml driven from one thread while training logs from another), status,
resume, and a whole run in a fresh interpreter that must exit cleanly and stay offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import comet_ml  # noqa: F401  (collected first, as the SDK wants)
import pytest
import torch

from fanlog import ConfigError, FanOut
from tests.plugins.comet.comet_support import archives, only_archive, read_archive


def fan_out(tmp_path, **options) -> FanOut:
    return FanOut([{"name": "comet", "offline": True, **options}],
                  run_defaults={"save_dir": str(tmp_path / "runs")}, summary=False)


def test_by_name_every_value_arrives_in_order(tmp_path, home, no_leftovers):
    sent = []
    with fan_out(tmp_path, experiment_name="fan") as fan:
        assert type(fan.backends["comet"]).__name__ == "CometLogger"
        fan.log_hyperparams({"model": {"width": 64}, "seed": 1})
        for step in range(500):
            loss = torch.tensor(1.0 / (step + 1))
            sent.append((step, float(loss)))
            fan.log_metrics({"loss": loss, "lr": 0.1}, step=step)
            if step % 100 == 0:
                fan.log_text("pred", f"at {step}", step=step)
                fan.log_image("input", torch.rand(3, 4, 4), step=step)
        fan.log_histogram("w", torch.randn(100), step=499)
    summary = fan.summary.backends["comet"]
    assert (summary.state, summary.dropped, summary.lost) == ("ok", 0, 0)
    archive = only_archive(tmp_path / "runs" / "comet")
    assert archive.metrics()["loss"] == sent
    assert archive.metrics()["lr"] == [(s, 0.1) for s in range(500)]
    assert archive.params() == {"model|width": 64, "seed": 1}
    assert [data.decode() for _, data in archive.uploads("text-sample")] == [
        f"at {s}" for s in range(0, 500, 100)]
    assert len(archive.uploads("visualization")) == 5
    assert len(archive.uploads("histogram3d")) == 1
    assert archive.others()["status"] == "success"
    assert list(home.iterdir()) == []


def test_exception_in_training_marks_the_experiment_failed(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), fan_out(tmp_path) as fan:
        fan.log_metrics({"x": 1.0}, step=0)
        raise RuntimeError("boom")
    archive = only_archive(tmp_path / "runs" / "comet")
    assert archive.others()["status"] == "failed"
    assert archive.experiment["customer_error_reported"] is True


def test_resume_through_the_fan_out(tmp_path):
    with fan_out(tmp_path) as fan:
        for step in range(10):
            fan.log_metrics({"x": float(step)}, step=step)
        states = fan.state_dict()
    with fan_out(tmp_path) as fan:
        fan.load_state_dict(states)
        for step in range(20):
            fan.log_metrics({"x": float(step)}, step=step)
    before, after = (read_archive(p) for p in archives(tmp_path / "runs" / "comet"))
    assert before.metrics()["x"] == [(s, float(s)) for s in range(10)]
    assert after.experiment["offline_id"] == states["comet"]["experiment_key"]
    assert after.metrics()["x"] == [(s, float(s)) for s in range(10, 20)]


def test_bad_option_is_a_config_error_naming_the_logger():
    with pytest.raises(ConfigError, match="comet"):
        FanOut([{"name": "comet", "experiment_key": "nope"}], summary=False)


RUN = textwrap.dedent("""
    import json, socket, sys, threading, time
    attempts = []
    real_connect = socket.socket.connect
    def connect(sock, address):
        if sock.family == socket.AF_UNIX:
            return real_connect(sock, address)
        attempts.append(repr(address))
        raise OSError("network blocked")
    def getaddrinfo(host, *args, **kwargs):
        attempts.append(repr(host))
        raise socket.gaierror("network blocked")
    socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo

    import psutil
    import torch  # imported before comet_ml, as in every fanlog run
    from fanlog import FanOut
    fan = FanOut([{"name": "comet", "offline": True}], run_defaults={"save_dir": sys.argv[1]},
                 summary=False)
    hook = sys.excepthook  # fanlog's own, installed by FanOut
    t0 = time.perf_counter()
    for step in range(1000):
        fan.log_metrics({"a": float(step), "b": 0.5, "c": 1.0, "d": 2.0, "e": 3.0}, step=step)
    t1 = time.perf_counter()
    fan.flush()
    t2 = time.perf_counter()
    fan.finalize("success")
    t3 = time.perf_counter()
    print(json.dumps({
        "threads": [t.name for t in threading.enumerate() if t is not threading.main_thread()],
        "excepthook_kept": sys.excepthook is hook,
        "children": len(psutil.Process().children(recursive=True)),
        "attempts": attempts, "enqueue_s": t1 - t0, "drain_s": t2 - t1, "finalize_s": t3 - t2}))
""")


@pytest.mark.slow
def test_fresh_interpreter_run_is_offline_quiet_and_exits(tmp_path, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMET_")}
    env.update(HOME=str(home), MPLCONFIGDIR=str(tmp_path / "mpl"))
    done = subprocess.run([sys.executable, "-c", RUN, str(tmp_path / "runs")], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    assert report["threads"] == [] and report["children"] == 0
    assert report["excepthook_kept"], "importing the SDK replaced sys.excepthook"
    assert report["finalize_s"] < 5.0
    assert "import comet_ml before" not in done.stderr
    assert "COMET ERROR" not in done.stderr
    assert list(home.iterdir()) == []
    points = only_archive(tmp_path / "runs" / "comet").metrics()
    assert [len(points[name]) for name in "abcde"] == [1000] * 5
    print(report)
