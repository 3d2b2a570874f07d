"""What TensorBoard itself shows: a resumed run read by a real ``tensorboard`` process (its
Python loader and its default one) over HTTP, and by the Python loader's accumulator; each
step appears once. Also ``hparams.yaml`` in the log folder and float32 scalars."""

from __future__ import annotations

import json
import math
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("tensorboard")
pytest.importorskip("fanlog_tensorboard")

import yaml
from fanlog_tensorboard import TensorBoardLogger
from tensorboard.backend.event_processing import plugin_event_accumulator

EXPECTED = [(s, float(s)) for s in range(6)] + [(s, 100.0 + s) for s in range(6, 13)]


def resumed_run(save_dir: Path) -> str:
    """Steps 0..9, a checkpoint at 5, a crash; the resumed run logs 4..12 again."""
    first = TensorBoardLogger(save_dir=save_dir, flush_secs=3600, default_hp_metric=False)
    for step in range(10):
        first.log_metrics({"loss": float(step)}, step)
        if step == 5:
            state = first.state_dict()
    first.finalize("failed")
    second = TensorBoardLogger(save_dir=save_dir, flush_secs=3600, default_hp_metric=False)
    second.load_state_dict(state)
    for step in range(4, 13):
        second.log_metrics({"loss": 100.0 + step}, step)
    second.finalize("success")
    return second.log_dir


def python_loader_scalars(log_dir: str, tag: str) -> list[tuple[int, float]]:
    """The accumulator behind ``tensorboard --load_fast=false`` (it purges on restarts)."""
    acc = plugin_event_accumulator.EventAccumulator(log_dir, size_guidance={"tensors": 0})
    acc.Reload()
    from tensorboard.util import tensor_util

    return [(e.step, float(tensor_util.make_ndarray(e.tensor_proto)))
            for e in acc.Tensors(tag)]


def test_python_loader_reads_each_resumed_step_once(tmp_path: Path) -> None:
    log_dir = resumed_run(tmp_path)
    assert python_loader_scalars(log_dir, "loss") == EXPECTED


def test_resume_purges_a_run_whose_first_session_wrote_no_marker(tmp_path: Path) -> None:
    """The first session came from a plain SummaryWriter (or an older fanlog): no START."""
    from torch.utils.tensorboard import SummaryWriter

    log_dir = tmp_path / "fanlog" / "version_0"
    writer = SummaryWriter(log_dir=str(log_dir))
    for step in range(10):
        writer.add_scalar("loss", float(step), step)
    writer.close()
    resumed = TensorBoardLogger(save_dir=tmp_path, default_hp_metric=False)
    resumed.load_state_dict({"version": 0, "step": 5})
    for step in range(4, 13):
        resumed.log_metrics({"loss": 100.0 + step}, step)
    resumed.finalize("success")
    assert python_loader_scalars(resumed.log_dir, "loss") == EXPECTED


def test_a_run_continued_without_resume_loses_nothing(tmp_path: Path) -> None:
    """Only a new run folder gets the opening marker: a second writer into an existing
    folder (version given, no load_state_dict) must not make the loader purge the first."""
    for start in (0, 3):
        lg = TensorBoardLogger(save_dir=tmp_path, version=0, default_hp_metric=False)
        for step in range(start, start + 3):
            lg.log_metrics({"x": float(step)}, step)
        lg.finalize("success")
        time.sleep(1.05 * (start == 0))  # the second event file sorts after the first
    assert python_loader_scalars(lg.log_dir, "x") == [(s, float(s)) for s in range(6)]


class TensorBoardServer:
    """A ``tensorboard`` process on 127.0.0.1 (a free port), stopped by :meth:`stop`."""

    def __init__(self, logdir: Path, *flags: str, timeout: float = 90.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", f"--logdir={logdir}",
             "--host=127.0.0.1", "--port=0", "--reload_interval=1", *flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in self.proc.stderr],
                         daemon=True).start()
        self.output: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            self.output.append(line)
            found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if found:
                self.url = f"http://127.0.0.1:{found.group(1)}"
                return
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("tensorboard did not start:\n" + "".join(self.output))

    def get(self, path: str, **query: str) -> object:
        url = f"{self.url}{path}?{urllib.parse.urlencode(query)}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)

    def scalars(self, run: str, tag: str, want: int, timeout: float = 60.0) -> list:
        """The run's points for ``tag`` once it has ``want`` of them (or the deadline)."""
        deadline = time.monotonic() + timeout
        points: list = []
        while time.monotonic() < deadline:
            try:
                points = [(step, value) for _, step, value in
                          self.get("/data/plugin/scalars/scalars", run=run, tag=tag)]
            except urllib.error.HTTPError:  # the run or tag is not loaded yet
                points = []
            if len(points) >= want:
                break
            time.sleep(0.5)
        return points

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def tensorboard_server() -> Iterator:
    servers: list[TensorBoardServer] = []

    def start(logdir: Path, *flags: str) -> TensorBoardServer:
        servers.append(TensorBoardServer(logdir, *flags))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("flags", [("--load_fast=false",), ()], ids=["python", "default"])
def test_tensorboard_shows_each_resumed_step_once(tmp_path: Path, tensorboard_server,
                                                  flags: tuple[str, ...]) -> None:
    resumed_run(tmp_path / "logs")
    server = tensorboard_server(tmp_path / "logs", *flags)
    assert server.scalars("fanlog/version_0", "loss", want=len(EXPECTED)) == EXPECTED
    time.sleep(1.5)  # one more reload: nothing else arrives
    assert server.scalars("fanlog/version_0", "loss", want=len(EXPECTED)) == EXPECTED


def test_hparams_yaml_in_the_log_folder_as_lightning_writes_it(tmp_path: Path) -> None:
    params = {"lr": 1e-05, "layers": [64, 32], "opt": {"name": "adam", "eps": 1e-08},
              "amp": True, "seed": None, "note": "🚀 a,b \"q\"\nline"}
    lg = TensorBoardLogger(save_dir=tmp_path, sub_dir="train")
    lg.log_hyperparams(params)
    lg.log_hyperparams({"batch": 32})
    lg.finalize("success")
    path = Path(lg.log_dir) / "hparams.yaml"
    assert path.parent == tmp_path / "fanlog" / "version_0" / "train"
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == {**params, "batch": 32}
    saving = pytest.importorskip("lightning.pytorch.core.saving",  # the reference
                                 reason="Lightning is the reference here")
    theirs = tmp_path / "lightning.yaml"
    saving.save_hparams_to_yaml(theirs, {**params, "batch": 32}, use_omegaconf=False)
    assert path.read_bytes() == theirs.read_bytes()


def test_scalars_are_float32(tmp_path: Path, read_run) -> None:
    """As documented: finite values beyond float32 read back as inf or 0.0."""
    lg = TensorBoardLogger(save_dir=tmp_path, default_hp_metric=False)
    lg.log_metrics({"huge": 1e300, "tiny": 1e-50, "exp": 1e-05}, 0)
    lg.finalize("success")
    acc = read_run(lg.log_dir)
    assert math.isinf(acc.Scalars("huge")[0].value)
    assert acc.Scalars("tiny")[0].value == 0.0
    assert math.isclose(acc.Scalars("exp")[0].value, 1e-05, rel_tol=1e-7)


@pytest.mark.parametrize(("option", "value"), [
    ("name", "../../escape"), ("version", "../x"), ("sub_dir", "/abs"), ("name", "a\x00b")])
def test_run_folders_stay_inside_save_dir(tmp_path: Path, option: str, value: str) -> None:
    with pytest.raises(ValueError, match=option):
        TensorBoardLogger(save_dir=tmp_path / "logs", **{option: value})
    assert not (tmp_path / "logs").exists()
