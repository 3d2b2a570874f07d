"""Fixtures for the W&B backend: wandb fully offline, every folder it writes under tmp_path,
and a reader for the runs it wrote (wandb's own ``leet inspect --json`` over the
``.wandb`` transaction log)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def offline_env(root: Path) -> dict[str, str]:
    """Everything that keeps wandb off the network and out of $HOME (BACKENDS-OFFLINE.md)."""
    return {
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_ERROR_REPORTING": "false",
        "WANDB_DISABLE_GIT": "true",
        "WANDB_DISABLE_CODE": "true",
        "WANDB_CONSOLE": "off",
        "WANDB_X_DISABLE_STATS": "true",
        "WANDB_X_DISABLE_META": "true",
        "WANDB_DIR": str(root / "wandb-dir"),
        "WANDB_CONFIG_DIR": str(root / "wandb-config"),
        "WANDB_CACHE_DIR": str(root / "wandb-cache"),
        "WANDB_DATA_DIR": str(root / "wandb-data"),
        "WANDB_ARTIFACT_DIR": str(root / "wandb-artifacts"),
        "MPLCONFIGDIR": str(root / "matplotlib"),
        "HOME": str(root / "home"),
    }


def service_processes() -> list[str]:
    """wandb-core processes started by this test process (its children)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and "wandb-core" in cmdline:
            found.append(f"{pid}: {cmdline[:120]}")
    return found


@pytest.fixture(autouse=True)
def wandb_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Offline wandb with its folders (and HOME) under tmp_path; the working directory is
    tmp_path/cwd. Afterwards HOME must be empty and no wandb-core process left."""
    env = offline_env(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    home = Path(env["HOME"])
    home.mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    yield tmp_path
    left = service_processes()
    in_home = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    if left and "wandb" in sys.modules:  # do not leak into the next test before failing
        import wandb

        wandb.teardown()
    assert not left, f"wandb service still running after the test: {left}"
    assert not in_home, f"files written into $HOME: {in_home}"


@pytest.fixture
def services() -> Callable[[], list[str]]:
    """``services()`` -> the wandb-core processes this test process has running now."""
    return service_processes


@dataclass
class RunLog:
    """One offline run segment: its folder and its decoded records, in order."""

    folder: Path
    records: list[dict[str, Any]]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [r[kind] for r in self.records if r["type"] == kind]

    @property
    def run(self) -> dict[str, Any]:
        return self.of("run")[0]

    @property
    def history(self) -> list[dict[str, Any]]:
        """History rows in order, without W&B's own bookkeeping keys (``_runtime`` ...)."""
        return [{k: v for k, v in h["item"].items() if not k.startswith("_")}
                for h in self.of("history")]

    @property
    def config(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for update in [self.run.get("config", {}), *self.of("config")]:
            merged.update(update.get("update", {}))
        merged.pop("_wandb", None)
        return merged

    @property
    def exit_code(self) -> int:
        (record,) = self.of("exit")
        return record.get("exit_code", 0)

    @property
    def files(self) -> Path:
        return self.folder / "files"

    def rows_with(self, key: str) -> list[dict[str, Any]]:
        return [row for row in self.history if any(k.split(".")[0] == key for k in row)]


def _read_runs(save_dir: Path) -> list[RunLog]:
    runs = []
    for path in Path(save_dir).glob("wandb/offline-run-*/run-*.wandb"):
        out = subprocess.run(
            [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(path)],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout
        runs.append(RunLog(path.parent, [json.loads(line) for line in out.splitlines()]))
    return sorted(runs, key=lambda r: r.run["start_time"])


@pytest.fixture
def read_runs() -> Callable[[Path], list[RunLog]]:
    """``read_runs(save_dir)`` -> every run segment written under ``save_dir``, oldest first."""
    return _read_runs


@pytest.fixture
def read_run() -> Callable[[Path], RunLog]:
    """``read_run(save_dir)`` -> the one run segment written under ``save_dir``."""

    def read(save_dir: Path) -> RunLog:
        (run,) = _read_runs(save_dir)
        return run

    return read
