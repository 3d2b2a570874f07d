"""Logger selection by name from every source, their precedence, and option validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanlog import ConfigError, FanOut
from fanlog.builtin.csv import CSVLogger
from fanlog.config import build_backends, resolve
from fanlog.testing import RecordingLogger


def names(selection):
    return [c.name for c in selection.choices]


def opts(selection):
    return {c.name: c.options for c in selection.choices}


def test_default_is_console_and_csv():
    selection = resolve()
    assert names(selection) == ["console", "csv"] and selection.source == "default"


@pytest.mark.parametrize("value", [
    ["console", "csv"], "console, csv", {"console": {}, "csv": None},
    ("console", {"name": "csv"})])
def test_every_python_form(value):
    assert names(resolve(value)) == ["console", "csv"]


def test_list_with_options_and_mapping_with_options():
    selection = resolve(["console", {"name": "csv", "save_dir": "logs", "version": 3}])
    assert opts(selection)["csv"] == {"save_dir": "logs", "version": 3}
    selection = resolve({"csv": {"prefix": "p/"}, "console": {"precision": 2}})
    assert names(selection) == ["csv", "console"]
    assert opts(selection) == {"csv": {"prefix": "p/"}, "console": {"precision": 2}}


def test_logger_key_frees_name_for_the_backend_option():
    selection = resolve([{"logger": "csv", "name": "my_model"}])
    assert names(selection) == ["csv"] and opts(selection)["csv"] == {"name": "my_model"}
    selection = resolve({"csv": {"name": "my_model"}})
    assert opts(selection)["csv"] == {"name": "my_model"}


def test_fanlog_toml_list_and_table_forms():
    Path("fanlog.toml").write_text('loggers = ["csv", {name = "console", precision = 3}]\n')
    selection = resolve()
    assert names(selection) == ["csv", "console"] and selection.source.endswith("fanlog.toml")
    assert opts(selection)["console"] == {"precision": 3}
    Path("fanlog.toml").write_text('[loggers.console]\nstream = "stderr"\n[loggers.csv]\n')
    assert names(resolve()) == ["console", "csv"]
    assert opts(resolve())["console"] == {"stream": "stderr"}


def test_pyproject_tool_table():
    Path("pyproject.toml").write_text('[project]\nname = "x"\n[tool.fanlog]\nloggers = ["csv"]\n')
    selection = resolve()
    assert names(selection) == ["csv"] and "[tool.fanlog]" in selection.source


def test_fanlog_config_env_points_to_a_file(tmp_path, monkeypatch):
    path = tmp_path / "elsewhere.toml"
    path.write_text('loggers = ["console"]\n')
    monkeypatch.setenv("FANLOG_CONFIG", str(path))
    assert names(resolve()) == ["console"]
    monkeypatch.setenv("FANLOG_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        resolve()


def test_env_var_plain_and_json(monkeypatch):
    monkeypatch.setenv("FANLOG_LOGGERS", "csv")
    assert names(resolve()) == ["csv"]
    monkeypatch.setenv("FANLOG_LOGGERS", '[{"name": "csv", "version": "x"}, "console"]')
    selection = resolve()
    assert names(selection) == ["csv", "console"] and opts(selection)["csv"] == {"version": "x"}


def test_cli_flags():
    selection = resolve(cli_args=["--lr", "3", "--loggers", "csv,console",
                                  "--logger-option", "csv.version=7",
                                  "--logger-option", "console.stream=stderr"])
    assert names(selection) == ["csv", "console"]
    assert opts(selection) == {"csv": {"version": 7}, "console": {"stream": "stderr"}}


def test_precedence_cli_over_env_over_code_over_toml_over_pyproject(monkeypatch):
    Path("pyproject.toml").write_text('[tool.fanlog]\nloggers = ["console"]\n')
    assert resolve().source.endswith("[tool.fanlog]")
    Path("fanlog.toml").write_text('loggers = ["csv"]\n')
    assert names(resolve()) == ["csv"]
    assert names(resolve(["console", "csv"])) == ["console", "csv"]
    monkeypatch.setenv("FANLOG_LOGGERS", "console")
    assert names(resolve(["console", "csv"])) == ["console"]
    selection = resolve(["console", "csv"], cli_args=["--loggers", "csv"])
    assert names(selection) == ["csv"] and selection.source == "command line"


def test_options_merge_across_sources_key_by_key(monkeypatch):
    Path("fanlog.toml").write_text(
        '[loggers.csv]\nsave_dir = "from_file"\nname = "file_name"\nprefix = "f/"\n')
    monkeypatch.setenv("FANLOG_LOGGERS", "csv")
    selection = resolve([{"name": "csv", "save_dir": "from_code"}],
                        cli_args=["--logger-option", "csv.prefix=cli/"])
    assert opts(selection)["csv"] == {"save_dir": "from_code", "name": "file_name",
                                      "prefix": "cli/"}


def test_instances_are_used_as_they_are():
    rec = RecordingLogger()
    backends = build_backends(["console", rec])
    assert backends["recordinglogger"] is rec
    with pytest.raises(ConfigError, match="an instance; options"):
        build_backends([rec], cli_args=["--logger-option", "recordinglogger.x=1"])


def test_cli_option_for_an_unselected_logger_is_an_error():
    with pytest.raises(ConfigError, match=r"not selected"):
        resolve(["console"], cli_args=["--logger-option", "csv.version=1"])


@pytest.mark.parametrize(("loggers", "match"), [
    ([{"name": "csv", "save_fir": "x"}], r"no option 'save_fir'. Did you mean 'save_dir'\?"),
    ([{"name": "csv", "version": 1.5}], r"option 'version' must be"),
    ([{"name": "console", "stream": "stdin"}], r"'stdout' or 'stderr'"),
    ([{"name": "console", "precision": "3"}], r"option 'precision' must be int"),
    (["csv", "csv"], "selected twice"),
    ([CSVLogger], "pass an instance of CSVLogger"),
    ([{"save_dir": "x"}], r"needs a 'name' \(or 'logger'\)"),
    ([""], "non-empty string"),
    (42, "must be a list"),
    ([{"name": "csv", "version": -1}], "logger 'csv': version must be >= 0"),
])
def test_bad_selections_are_clear_errors_before_anything_starts(loggers, match):
    with pytest.raises(ConfigError, match=match):
        FanOut(loggers, summary=False)


def test_bad_toml_and_bad_env_json(monkeypatch):
    Path("fanlog.toml").write_text("loggers = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve()
    Path("fanlog.toml").write_text('logers = ["csv"]\n')
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['logers'\]"):
        resolve()
    Path("fanlog.toml").unlink()
    monkeypatch.setenv("FANLOG_LOGGERS", "[csv")
    with pytest.raises(ConfigError, match="not valid JSON"):
        resolve()


def test_nothing_is_built_when_a_later_option_is_wrong(tmp_path):
    with pytest.raises(ConfigError):
        FanOut([{"name": "csv", "save_dir": str(tmp_path / "a")},
                {"name": "console", "colour": True}], summary=False)
    assert not (tmp_path / "a").exists()


def test_run_defaults_go_only_where_accepted_and_never_override(tmp_path):
    backends = build_backends(["console", "csv"],
                              run_defaults={"save_dir": str(tmp_path), "name": "run"})
    assert backends["csv"].save_dir == tmp_path and backends["csv"].name == "run"
    assert not hasattr(backends["console"], "save_dir")
    backends = build_backends([{"name": "csv", "save_dir": "mine"}],
                              run_defaults={"save_dir": str(tmp_path)})
    assert backends["csv"].save_dir == Path("mine")
