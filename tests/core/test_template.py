"""`fanlog new-plugin` generates a project that installs with pip into a fresh venv, passes
its generated conformance tests, and is selected by name in a run."""

from __future__ import annotations

import json
import site
import subprocess
import sys
import sysconfig
import textwrap

import pytest

from fanlog.cli import main
from fanlog.errors import ConfigError
from fanlog.template import new_plugin


def test_generated_layout(tmp_path, capsys):
    assert main(["new-plugin", "acme_tracker", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "fanlog-acme_tracker"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "README.md", "fanlog_acme_tracker.py", "pyproject.toml",
        "tests/test_fanlog_acme_tracker.py"]
    assert 'acme_tracker = "fanlog_acme_tracker:AcmeTrackerLogger"' in (
        root / "pyproject.toml").read_text()
    assert "class TestAcmeTrackerLogger(BackendConformance)" in (
        root / "tests" / "test_fanlog_acme_tracker.py").read_text()
    assert "created" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["Acme", "1x", "a-b", ""])
def test_bad_names_are_refused(tmp_path, bad):
    with pytest.raises(ConfigError, match="lowercase"):
        new_plugin(bad, tmp_path)


def test_existing_folder_is_not_overwritten(tmp_path):
    new_plugin("x", tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        new_plugin("x", tmp_path)


@pytest.mark.slow
def test_generated_plugin_installs_passes_its_tests_and_is_selected_by_name(tmp_path):
    import setuptools  # noqa: F401
    root = new_plugin("jsonl", tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    child_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig."
                                 "get_paths()['purelib'])"], capture_output=True, text=True,
                                check=True).stdout.strip()
    # The fresh venv sees this environment's fanlog, torch, pytest, pip and setuptools through
    # a .pth file, as a venv beside an installed fanlog would; only the plugin goes into it.
    parents = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in sorted(parents))
    with open(f"{child_site}/parent-env.pth", "w") as fh:
        fh.write(lines)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", str(root)], check=True,
                   capture_output=True)
    tests = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            str(root / "tests")], capture_output=True, text=True, cwd=tmp_path)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    listing = subprocess.run([str(python), "-m", "fanlog.cli", "plugins", "--json"],
                             capture_output=True, text=True, check=True, cwd=tmp_path)
    row = next(r for r in json.loads(listing.stdout) if r["name"] == "jsonl")
    assert row["distribution"] == "fanlog-jsonl" and "log_metrics" in row["capabilities"]
    run = subprocess.run([str(python), "-c", textwrap.dedent("""
        from fanlog import FanOut
        with FanOut(["console", {"name": "jsonl", "save_dir": "logs"}]) as run:
            run.log_metrics({"loss": 0.25}, step=3)
        print(run["jsonl"].experiment)
    """)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    records = (tmp_path / run.stdout.strip().splitlines()[-1]).read_text().splitlines()
    assert json.loads(records[0]) == {"hook": "metrics", "step": 3, "metrics": {"loss": 0.25}}
    assert json.loads(records[-1]) == {"hook": "finalize", "status": "success"}
