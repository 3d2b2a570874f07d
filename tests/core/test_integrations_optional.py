"""The framework integrations are optional: importing fanlog (and fanlog.integrations)
imports no framework, and an integration whose framework is absent says what to install.
Each runs in a fresh interpreter where the framework's import is made to fail."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

FRAMEWORKS = ("lightning", "pytorch_lightning", "transformers", "accelerate")


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_importing_fanlog_and_its_integrations_package_imports_no_framework():
    done = _python(f"""
        import sys
        import fanlog, fanlog.integrations, fanlog.integrations._run
        import fanlog.integrations._lightning, fanlog.integrations._values
        loaded = [m for m in {FRAMEWORKS!r} if m in sys.modules]
        assert not loaded, loaded
    """)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("module", "blocked", "extra"), [
    ("lightning", ("lightning", "pytorch_lightning"), "lightning"),
    ("pytorch_lightning", ("pytorch_lightning",), "pytorch-lightning"),
    ("transformers", ("transformers",), "transformers"),
    ("accelerate", ("accelerate",), "accelerate"),
])
def test_an_absent_framework_names_the_extra_to_install(module, blocked, extra):
    done = _python(f"""
        import importlib.util, sys
        for name in {blocked!r}:
            sys.modules[name] = None  # its import fails, as when it is not installed
        real_find = importlib.util.find_spec
        importlib.util.find_spec = lambda n, *a: None if n in {blocked!r} else real_find(n, *a)
        import fanlog.integrations.{module}
    """)
    assert done.returncode == 1
    assert f'pip install "fanlog[{extra}]"' in done.stderr
    assert f"fanlog.integrations.{module} needs" in done.stderr
