"""A plugin installed by pip from its own folder is found by name and receives data: proof
that discovery works from an installed distribution, not from an import path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parents[1] / "fixtures" / "fanlog-hello"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    import setuptools  # noqa: F401
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / FIXTURE.name
    shutil.copytree(FIXTURE, source)  # the build writes beside the sources: not in the repo
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target),
                    str(source)], check=True, capture_output=True)
    return target


def run_python(code, site, cwd):
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_installed_plugin_is_listed_and_receives_data(installed, tmp_path):
    listing = run_python("from fanlog.cli import main; main(['plugins', '--json'])",
                         installed, tmp_path)
    rows = {r["name"]: r for r in json.loads(listing.stdout)}
    assert rows["hello"]["distribution"] == "fanlog-hello"
    assert rows["hello"]["version"] == "0.3.0"
    assert rows["hello"]["capabilities"] == ["log_metrics", "finalize"]
    proc = run_python("""
        from fanlog import FanOut
        with FanOut(["csv", {"name": "hello", "path": "out.jsonl"}]) as run:
            for step in range(5):
                run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    """, installed, tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert lines[:5] == [{"step": s, "loss": 1.0 / (s + 1)} for s in range(5)]
    assert lines[5] == {"status": "success"}


def test_without_the_install_the_name_is_unknown(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "from fanlog import FanOut; FanOut(['hello'])"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "logger 'hello' is not installed" in proc.stderr
