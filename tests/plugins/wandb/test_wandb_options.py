"""Options are checked when the logger is built (on the caller's thread, without wandb), and
wandb is imported only once the run starts."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import wandb  # noqa: F401  (collected first, as the SDK wants)
from fanlog_wandb import WandbLogger

from fanlog import ConfigError, FanOut


@pytest.mark.parametrize(("options", "error", "match"), [
    ({"log_model": "best"}, ValueError, "log_model"),
    ({"log_model": 1}, ValueError, "log_model"),
    ({"prefix": 3}, TypeError, "prefix"),
    ({"name": 5}, TypeError, "name"),
    ({"step_metric": ""}, ValueError, "step_metric"),
    ({"id": "a", "version": "b"}, ValueError, "id and version"),
    ({"finish_timeout": -1}, ValueError, "finish_timeout"),
    # Lightning's synonyms `dir` and `mode` are accepted (test_wandb_lightning_methods.py),
    # contradicting their twins they are not
    ({"dir": "x", "save_dir": "y"}, ValueError, "save_dir"),
    ({"mode": "online", "offline": True}, ValueError, "offline"),
    ({"mode": "sometimes"}, ValueError, "mode"),
    ({"add_file_policy": "frozen"}, ValueError, "add_file_policy"),
])
def test_bad_options_are_refused_at_once(options, error, match):
    with pytest.raises(error, match=match):
        WandbLogger(**options)


def test_bad_option_through_the_fanout_names_the_logger():
    with pytest.raises(ConfigError, match=r"'wandb'.*log_model"):
        FanOut([{"name": "wandb", "log_model": "sometimes"}])


def test_version_is_the_run_id():
    assert WandbLogger(version="v7").state_dict() == {"id": "v7", "step": None}


def test_wandb_is_imported_only_when_the_run_starts(tmp_path):
    """Selecting and building the backend, and ending a run that logged nothing, never
    import wandb; the first logging call imports it on the worker thread."""
    script = textwrap.dedent(f"""
        import sys, threading
        from fanlog import FanOut
        fan = FanOut(["wandb"], run_defaults={{"save_dir": {str(tmp_path / "a")!r}}},
                     summary=False)
        assert "wandb" not in sys.modules, "built"
        fan.finalize("success")
        assert "wandb" not in sys.modules, "finalized"

        importers = []
        real_import = __builtins__.__import__
        def spy(name, *args, **kwargs):
            if name == "wandb" and "wandb" not in sys.modules:
                importers.append(threading.current_thread().name)
            return real_import(name, *args, **kwargs)
        __builtins__.__import__ = spy
        fan = FanOut(["wandb"], run_defaults={{"save_dir": {str(tmp_path / "b")!r}}},
                     summary=False)
        fan.log_metrics({{"x": 1.0}}, step=0)
        fan.finalize("success")
        assert importers == ["fanlog-wandb"], importers
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
