"""Discovery by entry point: listing without importing, load errors, conflicts, allow/deny."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fanlog import FanOut, PluginLoadError, UnknownLoggerError
from fanlog.cli import main
from fanlog.errors import ConfigError, DuplicateLoggerError
from fanlog.plugins import FIRST_PARTY, capabilities_of, discover, unknown_message
from fanlog.testing import RecordingLogger
from tests.core.fakedist import activate, forget, make_dist

BACKEND_SOURCE = """
    raise_on_import = {raise_on_import!r}
    if raise_on_import:
        raise ImportError("No module named 'sdk_that_is_missing'")

    class Base:
        def log_metrics(self, metrics, step):
            self.rows.append((step, metrics))

    class Hello(Base):
        def __init__(self, greeting: str = "hi"):
            self.greeting, self.rows = greeting, []

        def log_text(self, key, text, step):
            self.rows.append(text)

        @property
        def experiment(self):
            return self
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    path = tmp_path / "site"
    path.mkdir()
    activate(path, monkeypatch)
    yield path
    forget("hello_backend", "broken_backend", "pkg_backend", "pkg_backend.impl")


def test_core_backends_are_registered_as_entry_points():
    registry = discover()
    assert registry.plugins["console"].distribution == "fanlog"
    assert registry.plugins["csv"].value == "fanlog.builtin.csv:CSVLogger"


def test_listing_reads_capabilities_without_importing(site):
    make_dist(site, "fanlog-hello", "1.2.3", {"hello": "hello_backend:Hello"},
              {"hello_backend": BACKEND_SOURCE.format(raise_on_import=False)})
    info = discover().plugins["hello"]
    assert (info.distribution, info.version) == ("fanlog-hello", "1.2.3")
    assert info.static_capabilities() == ("log_metrics", "log_text")
    assert "hello_backend" not in sys.modules
    assert capabilities_of(info.load()) == ("log_metrics", "log_text")


def test_capabilities_follow_a_package_reexport_without_importing_it(site):
    make_dist(site, "fanlog-pkg", "0.1", {"pkg": "pkg_backend:Hello"}, {
        "pkg_backend.__init__": "raise RuntimeError('imported!')\nfrom .impl import Hello\n",
        "pkg_backend.impl": BACKEND_SOURCE.format(raise_on_import=False)})
    assert discover().plugins["pkg"].static_capabilities() == ("log_metrics", "log_text")
    assert "pkg_backend" not in sys.modules


def test_selected_plugin_receives_data_by_name(site):
    make_dist(site, "fanlog-hello", "1.2.3", {"hello": "hello_backend:Hello"},
              {"hello_backend": BACKEND_SOURCE.format(raise_on_import=False)})
    run = FanOut([{"name": "hello", "greeting": "hey"}], summary=False)
    run.log_metrics({"x": 1}, step=5)
    run.log_text("k", "text", 5)
    run.finalize()
    hello = run["hello"]
    assert hello.greeting == "hey" and hello.rows == [(5, {"x": 1.0}), "text"]


def test_plugin_that_fails_to_import_is_named_and_the_others_still_start(site):
    make_dist(site, "fanlog-broken", "0.9", {"broken": "broken_backend:Hello"},
              {"broken_backend": BACKEND_SOURCE.format(raise_on_import=True)})
    rec = RecordingLogger()
    with pytest.warns(RuntimeWarning) as record:
        run = FanOut(["broken", "console", rec], summary=False)
    message = str(record[0].message)
    for part in ("'broken'", "fanlog-broken", "0.9", "ImportError", "sdk_that_is_missing"):
        assert part in message
    assert list(run.backends) == ["console", "recordinglogger"]
    run.log_metrics({"x": 1}, step=0)
    run.finalize()
    assert rec.metrics == [(0, {"x": 1.0})]


def test_strict_mode_raises_the_load_error(site):
    make_dist(site, "fanlog-broken", "0.9", {"broken": "broken_backend:Hello"},
              {"broken_backend": BACKEND_SOURCE.format(raise_on_import=True)})
    with pytest.raises(PluginLoadError) as info:
        FanOut(["broken", "console"], strict=True, summary=False)
    assert info.value.distribution == "fanlog-broken"
    assert isinstance(info.value.__cause__, ImportError)


def test_two_distributions_claiming_one_name_are_both_named(site, capsys):
    make_dist(site, "fanlog-hello", "1.0", {"hello": "hello_backend:Hello"},
              {"hello_backend": BACKEND_SOURCE.format(raise_on_import=False)})
    make_dist(site, "other-hello", "2.0", {"hello": "hello_backend:Hello"})
    with pytest.raises(DuplicateLoggerError) as info:
        FanOut(["hello"], summary=False)
    assert "fanlog-hello 1.0" in str(info.value) and "other-hello 2.0" in str(info.value)
    assert main(["plugins", "--json"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out) if r["name"] == "hello"]
    assert sorted(r["distribution"] for r in rows) == ["fanlog-hello", "other-hello"]
    assert {r["status"] for r in rows} == {"conflict"}


def test_unknown_first_party_name_says_what_to_install():
    message = unknown_message("wandb", ["console", "csv"])
    assert "pip install fanlog-wandb" in message
    assert "Installed loggers: console, csv" in message


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownLoggerError) as info:
        FanOut(["cvs"], summary=False)
    assert "Did you mean 'csv'?" in str(info.value)
    assert "console" in str(info.value)
    message = unknown_message("tensorbord", ["console", "csv"])
    assert "Did you mean 'tensorboard'? (pip install fanlog-tensorboard)" in message


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_missing_first_party_plugin_error_end_to_end(name):
    if name in discover().plugins:
        pytest.skip(f"fanlog-{name} is installed in this environment")
    with pytest.raises(UnknownLoggerError, match=f"pip install fanlog-{name}"):
        FanOut(["console", name], summary=False)


def test_deny_and_allow_lists(site, monkeypatch):
    make_dist(site, "fanlog-hello", "1.0", {"hello": "hello_backend:Hello"},
              {"hello_backend": BACKEND_SOURCE.format(raise_on_import=False)})
    monkeypatch.setenv("FANLOG_DENY_PLUGINS", "hello")
    with pytest.raises(ConfigError, match="disabled: listed in FANLOG_DENY_PLUGINS"):
        FanOut(["hello"], summary=False)
    monkeypatch.delenv("FANLOG_DENY_PLUGINS")
    monkeypatch.setenv("FANLOG_ALLOW_PLUGINS", "csv")
    assert discover().names() == ["csv"]


def test_disable_autoload_keeps_core_backends_and_allowed_names(site, monkeypatch):
    make_dist(site, "fanlog-hello", "1.0", {"hello": "hello_backend:Hello"},
              {"hello_backend": BACKEND_SOURCE.format(raise_on_import=False)})
    monkeypatch.setenv("FANLOG_DISABLE_PLUGIN_AUTOLOAD", "1")
    registry = discover()
    assert {"console", "csv"} <= set(registry.names()) and "hello" not in registry.names()
    assert "FANLOG_DISABLE_PLUGIN_AUTOLOAD" in registry.disabled["hello"][1]
    monkeypatch.setenv("FANLOG_ALLOW_PLUGINS", "hello")
    assert {"console", "csv", "hello"} <= set(discover().names())


def test_plugins_command_table(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:4] == ["name", "distribution", "version", "status"]
    assert any(line.startswith("csv ") and "log_metrics" in line for line in out.splitlines())


def test_plugins_command_load_checks_imports(site, capsys):
    make_dist(site, "fanlog-broken", "0.9", {"broken": "broken_backend:Hello"},
              {"broken_backend": BACKEND_SOURCE.format(raise_on_import=True)})
    assert main(["plugins", "--json", "--load"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["csv"]["status"] == "loaded"
    assert rows["broken"]["status"].startswith("error: ImportError")


def test_plugins_command_imports_no_backend_module():
    """`fanlog plugins` must not import any backend module or SDK, whatever is installed."""
    code = (
        "import sys; from fanlog.cli import main; from fanlog.plugins import discover\n"
        "main(['plugins']); main(['plugins', '--json'])\n"
        "mods = {p.module for p in discover().plugins.values()}\n"
        "sdks = {'tensorboard', 'torch.utils.tensorboard', 'mlflow', 'wandb', 'comet_ml',"
        " 'neptune'}\n"
        "print('IMPORTED', sorted((mods | sdks) & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "IMPORTED []"
