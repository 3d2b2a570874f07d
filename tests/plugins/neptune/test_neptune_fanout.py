"""The neptune backend selected by name through fanlog.FanOut: entry-point discovery, the
worker thread (neptune driven from one thread while training logs from another), status,
and a whole run in a fresh interpreter that must exit cleanly and stay offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import neptune  # noqa: F401  (collected first, as the SDK wants)
import pytest
import torch

from fanlog import ConfigError, FanOut
from tests.plugins.neptune.neptune_support import only_run


def fan_out(**options) -> FanOut:
    # "logger" names the backend, so that neptune's own option "name" can be given.
    return FanOut([{"logger": "neptune", "mode": "offline", **options}], summary=False)


def test_by_name_every_value_arrives_in_order(tmp_path, data_dir, home, no_leftovers):
    sent = []
    with fan_out(name="fan") as fan:
        assert type(fan.backends["neptune"]).__name__ == "NeptuneLogger"
        fan.log_hyperparams({"model": {"width": 64}, "seed": 1})
        for step in range(500):
            loss = torch.tensor(1.0 / (step + 1))
            sent.append((step, float(loss)))
            fan.log_metrics({"loss": loss, "lr": 0.1}, step=step)
            if step % 100 == 0:
                fan.log_text("pred", f"at {step}", step=step)
                fan.log_image("input", torch.rand(3, 4, 4), step=step)
    summary = fan.summary.backends["neptune"]
    assert (summary.state, summary.dropped, summary.lost) == ("ok", 0, 0)
    run = only_run(data_dir, tmp_path / "replay")
    assert run.floats("training/loss") == sent
    assert run.floats("training/lr") == [(s, 0.1) for s in range(500)]
    assert run.namespace("training/hyperparams") == {"model/width": 64, "seed": 1}
    assert run.strings("training/text/pred") == [(s, f"at {s}") for s in range(0, 500, 100)]
    assert [step for step, _ in run.images("training/images/input")] == list(range(0, 500, 100))
    assert run.value("training/status") == "success"
    assert run.value("sys/name") == "fan"
    assert list(home.iterdir()) == []


def test_exception_in_training_marks_the_run_failed(tmp_path, data_dir):
    with pytest.raises(RuntimeError, match="boom"), fan_out() as fan:
        fan.log_metrics({"x": 1.0}, step=0)
        raise RuntimeError("boom")
    run = only_run(data_dir, tmp_path / "replay")
    assert run.value("sys/failed") is True
    assert run.value("training/status") == "failed"


def test_state_dict_through_the_fan_out():
    with fan_out() as fan:
        fan.log_metrics({"x": 1.0}, step=4)
        state = fan.state_dict()["neptune"]
        [folder] = state.pop("offline_dirs")  # the run's offline store, read on resume
        assert state == {"run_id": None, "mode": "offline", "step": 4}
        assert Path(folder, "data-1.log").is_file()


def test_bad_option_is_a_config_error_naming_the_logger():
    with pytest.raises(ConfigError, match="neptune"):
        FanOut([{"name": "neptune", "mode": "online"}], summary=False)


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
    from fanlog import FanOut
    fan = FanOut([{"name": "neptune", "mode": "offline"}], summary=False)
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
def test_fresh_interpreter_run_is_offline_and_exits(tmp_path, data_dir, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEPTUNE_")}
    env.update(HOME=str(home), NEPTUNE_DATA_DIRECTORY=str(data_dir))
    done = subprocess.run([sys.executable, "-c", RUN], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    assert report["threads"] == [] and report["children"] == 0
    assert report["excepthook_kept"], "importing the SDK replaced sys.excepthook"
    assert report["finalize_s"] < 2.0
    assert list(home.iterdir()) == []
    run = only_run(data_dir, tmp_path / "replay")
    assert [len(run.floats(f"training/{name}")) for name in "abcde"] == [1000] * 5
    print(report)
