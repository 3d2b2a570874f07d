"""Fixtures for the MLflow backend: MLflow set up as BACKENDS-OFFLINE.md says, one SQLite
store and one real ``mlflow server`` per session (a fresh database costs 3-9 s here, a server
10-20 s), and a relay that makes that server vanish for one test.

Nothing here imports MLflow at module level, so the test modules can skip themselves
cleanly where it is not installed.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fanlog.testing.runs import free_port

MLFLOW_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",  # telemetry writes into $HOME
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",  # a dead server fails at once, not after retries
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # else the server spawns ~9 helpers
}


@contextlib.contextmanager
def mlflow_env(home: Path, cwd: Path) -> Iterator[None]:
    """MLflow's settings, with $HOME and the working directory moved to ``home``/``cwd``."""
    home.mkdir(exist_ok=True)
    cwd.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        for var, value in MLFLOW_ENV.items():
            mp.setenv(var, value)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.setenv("HOME", str(home))
        mp.setenv("MPLCONFIGDIR", str(home.parent / "matplotlib"))
        mp.chdir(cwd)
        yield


def assert_empty(*folders: Path) -> None:
    for folder in folders:
        assert not list(folder.iterdir()), f"written into {folder}: {list(folder.iterdir())}"


@pytest.fixture(autouse=True)
def _mlflow_isolated(_isolated: None, tmp_path: Path) -> Iterator[None]:
    """Each test: an empty $HOME, and afterwards it and the working directory (no
    ``./mlruns``, no ``./mlflow.db``) must still be empty."""
    home, cwd = tmp_path / "home", Path.cwd()
    with mlflow_env(home, cwd):
        yield
    assert_empty(home, cwd)


@pytest.fixture(scope="session")
def store_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SQLite tracking store for the session, its tables created once. MLflow resolves
    the store's default artifact folder (``./mlruns``) when it first opens the store and
    keeps it, so it is opened in a working directory that must stay empty all session."""
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with mlflow_env(root / "home", root / "cwd"):
        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    yield uri
    assert_empty(root / "home", root / "cwd")


@pytest.fixture
def make_logger(request: pytest.FixtureRequest, tmp_path: Path,
                store_uri: str) -> Iterator[Callable[..., Any]]:
    """``make_logger(**options)``: an MLFlowLogger on the session store, in an experiment of
    its own, saving under tmp_path; each is finalized after the test (no run left open)."""
    from fanlog_mlflow import MLFlowLogger

    made: list[MLFlowLogger] = []

    def make(**options: Any) -> MLFlowLogger:
        options = {"tracking_uri": store_uri, "experiment_name": request.node.nodeid,
                   "save_dir": tmp_path / "logs", **options}
        made.append(MLFlowLogger(**options))
        return made[-1]

    yield make
    for logger in made:
        logger.finalize("success")


@pytest.fixture
def client(store_uri: str) -> Any:
    """MLflow's own client on the session store, to read back what was written."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=store_uri)


# -- a real server ---------------------------------------------------------------------------

def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's whole process group (the main pid alone leaves its uvicorn
    worker behind), SIGKILL what is left after 15 s."""
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            proc.poll()
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                proc.wait()
                return
            time.sleep(0.1)
    proc.wait()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on 127.0.0.1 with a SQLite backend and proxied artifacts, started
    once for the session in its own process group; yields its URL."""
    try:
        importlib.metadata.distribution("mlflow")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("`mlflow server` needs the full mlflow package: "
                    "pip install 'fanlog-mlflow[server]'")
    root = tmp_path_factory.mktemp("server")
    (root / "home").mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **MLFLOW_ENV, "HOME": str(root / "home")}
    with open(root / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server",
             "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
             "--artifacts-destination", str(root / "artifacts"),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (root / "server.log").read_text(errors="replace")[-3000:]
                pytest.fail(f"mlflow server did not come up (exit code {proc.poll()}):\n{tail}")
            time.sleep(0.25)
        yield url
    finally:
        _stop_group(proc)


class Relay:
    """A TCP relay to a server; :meth:`kill` makes the server vanish for its clients the way
    a crashed one does: open connections are cut and the port refuses new ones."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = []
        self.killed = False
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return  # killed
            upstream = socket.create_connection(("127.0.0.1", self._target))
            with self._lock:
                self._sockets += [downstream, upstream]
                for src, dst in ((downstream, upstream), (upstream, downstream)):
                    pump = threading.Thread(target=self._pump, args=(src, dst), daemon=True)
                    self._threads.append(pump)
                    pump.start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def kill(self) -> None:
        self.killed = True
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def relay(mlflow_server: str) -> Iterator[Relay]:
    """A relay to the session's server, killed at the end of the test if it is not yet."""
    r = Relay(int(mlflow_server.rsplit(":", 1)[1]))
    yield r
    if not r.killed:
        r.kill()
