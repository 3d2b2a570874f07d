"""Logger lists by name, from code, a TOML file, an environment variable or the command line.

Precedence, highest first (documented in docs/configuration.md and tested):

1. command-line flags (``--loggers``, ``--logger-option``) given to :class:`fanlog.FanOut`
   or the trainer through ``cli_args``;
2. the ``FANLOG_LOGGERS`` environment variable;
3. the ``loggers=`` argument in code;
4. ``fanlog.toml`` in the working directory (or the file named by ``FANLOG_CONFIG``);
5. ``[tool.fanlog]`` in ``pyproject.toml`` in the working directory;
6. the default, ``["console", "csv"]``.

The *list of names* comes from the highest source that gives one; each logger's *options*
are merged across all sources, a higher source winning key by key. So
``FANLOG_LOGGERS=csv,mlflow python train.py`` keeps the MLflow options written in code.
Every option is checked against its backend's constructor before any backend is built.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import json
import os
import tomllib
import types
import typing
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fanlog.errors import ConfigError, PluginLoadError
from fanlog.plugins import Registry, discover

DEFAULT_LOGGERS = ("console", "csv")
ENV_VAR = "FANLOG_LOGGERS"


@dataclass
class Choice:
    """One selected logger: a name with options, or a ready instance."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    instance: object | None = None


@dataclass
class Selection:
    """An ordered selection and the source that decided the list of names."""

    choices: list[Choice]
    source: str


# -- parsing each source into [Choice] ------------------------------------------------------

def parse(value: Any, source: str, registry: Registry | None = None) -> list[Choice]:
    """Normalise every accepted form: ``"a,b"``, ``["a", {"name": "b", **opts}, instance]``,
    ``{"a": {...}, "b": {}}``. In a table, ``logger`` may name the backend instead of
    ``name``, so that a backend option called ``name`` (the run's name) can be given too."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, Mapping):  # {logger name: options}: every key is an option
        value = [{"logger": name, **_options(opts, name, source)} for name, opts in value.items()]
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{source}: loggers must be a list, a mapping or a comma-separated "
                          f"string; got {type(value).__name__}")
    choices: list[Choice] = []
    for item in value:
        if isinstance(item, str):
            choices.append(Choice(_name(item, source)))
        elif isinstance(item, Mapping):
            # {"name": "mlflow", **options}; {"logger": "csv", "name": ...} when the backend
            # itself has an option called "name".
            opts = dict(item)
            key = "logger" if "logger" in opts else "name"
            if key not in opts:
                raise ConfigError(f"{source}: a logger given as a table needs a 'name' "
                                  f"(or 'logger'): {item}")
            name = _name(opts.pop(key), source)
            choices.append(Choice(name, opts))
        elif isinstance(item, type):
            raise ConfigError(f"{source}: pass an instance of {item.__name__}, or its name")
        else:
            registry = registry or discover()
            name = registry.find_by_class(type(item)) or type(item).__name__.lower()
            taken = {c.name for c in choices}
            unique, n = name, 1
            while unique in taken:  # several instances of one class: csv, csv-2, ...
                n += 1
                unique = f"{name}-{n}"
            choices.append(Choice(unique, instance=item))
    seen: set[str] = set()
    for choice in choices:
        if choice.name in seen:
            raise ConfigError(f"{source}: logger {choice.name!r} is selected twice")
        seen.add(choice.name)
    return choices


def _name(name: Any, source: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{source}: a logger name must be a non-empty string, got {name!r}")
    return name.strip()


def _options(opts: Any, name: str, source: str) -> dict[str, Any]:
    if opts is None or opts is True:
        return {}
    if not isinstance(opts, Mapping):
        raise ConfigError(f"{source}: options of logger {name!r} must be a table, got {opts!r}")
    return dict(opts)


def from_env(environ: Mapping[str, str] | None = None) -> list[Choice] | None:
    """``FANLOG_LOGGERS``: ``console,csv`` or JSON (``[{"name": "mlflow", ...}]``)."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR)
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if raw[0] in "[{":
        try:
            return parse(json.loads(raw), ENV_VAR)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{ENV_VAR} is not valid JSON: {exc}") from exc
    return parse(raw, ENV_VAR)


def from_files(cwd: Path | None = None) -> tuple[list[Choice] | None, dict[str, dict], str]:
    """Read ``fanlog.toml`` (or ``$FANLOG_CONFIG``) and ``[tool.fanlog]``.

    Returns the list from the first file that has one, the options of both files merged
    (fanlog.toml winning), and where the list came from.
    """
    cwd = cwd or Path.cwd()
    layers: list[tuple[str, Mapping[str, Any]]] = []
    explicit = os.environ.get("FANLOG_CONFIG")
    own = Path(explicit) if explicit else cwd / "fanlog.toml"
    if explicit and not own.is_file():
        raise ConfigError(f"FANLOG_CONFIG names {own}, which does not exist")
    if own.is_file():
        layers.append((str(own), _read_toml(own)))
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("fanlog")
        if table is not None:
            layers.append((f"{pyproject} [tool.fanlog]", table))
    names: list[Choice] | None = None
    source = ""
    options: dict[str, dict] = {}
    for where, table in reversed(layers):  # lower precedence first; higher overwrites
        unknown = set(table) - {"loggers"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; expected 'loggers'")
        if "loggers" in table:
            choices = parse(table["loggers"], where)
            names, source = choices, where
            for c in choices:
                options.setdefault(c.name, {}).update(c.options)
    return names, options, source


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--loggers a,b`` and repeatable ``--logger-option NAME.KEY=VALUE`` to a parser
    (VALUE is read as a TOML value when it parses as one, else as a string)."""
    parser.add_argument("--loggers", help="comma-separated logger names, e.g. console,csv")
    parser.add_argument("--logger-option", action="append", default=[], metavar="NAME.KEY=VALUE",
                        help="an option for one logger, e.g. mlflow.experiment_name=demo")


def from_cli(args: Iterable[str]) -> tuple[list[Choice] | None, dict[str, dict]]:
    """Parse ``--loggers`` / ``--logger-option`` out of command-line words (others ignored)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_cli_arguments(parser)
    ns, _ = parser.parse_known_args(list(args))
    return cli_namespace(ns)


def cli_namespace(ns: argparse.Namespace) -> tuple[list[Choice] | None, dict[str, dict]]:
    names = parse(ns.loggers, "--loggers") if ns.loggers else None
    options: dict[str, dict] = {}
    for item in ns.logger_option:
        target, eq, raw = item.partition("=")
        name, dot, key = target.partition(".")
        if not (eq and dot and name and key):
            raise ConfigError(f"--logger-option {item!r}: expected NAME.KEY=VALUE")
        options.setdefault(name, {})[key] = _toml_value(raw)
    return names, options


def _toml_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def resolve(
    loggers: Any = None,
    *,
    cli_args: Iterable[str] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Selection:
    """Merge every source into one ordered selection (see the module docstring)."""
    cli_names, cli_opts = from_cli(cli_args) if cli_args is not None else (None, {})
    env_names = from_env(environ)
    code = parse(loggers, "loggers=") if loggers is not None else None
    file_names, file_opts, file_source = from_files(cwd)
    default = [Choice(n) for n in DEFAULT_LOGGERS]

    names, source = next(
        (names, source) for names, source in (
            (cli_names, "command line"), (env_names, ENV_VAR), (code, "loggers="),
            (file_names, file_source), (default, "default"))
        if names is not None)
    layers = [file_opts, _opts_of(code), _opts_of(env_names), _opts_of(cli_names), cli_opts]
    instances = {c.name: c.instance for c in code or [] if c.instance is not None}
    choices = []
    for choice in names:
        merged: dict[str, Any] = {}
        for layer in layers:
            merged.update(layer.get(choice.name, {}))
        choices.append(Choice(choice.name, merged, instances.get(choice.name)))
    stray = set(cli_opts) - {c.name for c in choices}
    if stray:
        raise ConfigError(f"--logger-option names logger(s) {sorted(stray)} that are not "
                          f"selected ({', '.join(c.name for c in choices)})")
    return Selection(choices, source)


def _opts_of(choices: list[Choice] | None) -> dict[str, dict]:
    return {c.name: c.options for c in choices or [] if c.options}


# -- validation and construction ------------------------------------------------------------

def build_backends(
    loggers: Any = None,
    *,
    run_defaults: Mapping[str, Any] | None = None,
    strict: bool = False,
    cli_args: Iterable[str] | None = None,
    registry: Registry | None = None,
) -> dict[str, object]:
    """Resolve the selection, load each named backend, check every option, then build them.

    A backend whose plugin fails to import is skipped with a warning naming it (the others
    still start); with ``strict=True`` the error is raised instead.
    """
    selection = resolve(loggers, cli_args=cli_args)
    registry = registry or discover()
    classes: dict[str, type] = {}
    for choice in selection.choices:
        if choice.instance is not None:
            if choice.options:
                raise ConfigError(f"logger {choice.name!r} is an instance; options "
                                  f"{sorted(choice.options)} cannot be applied to it")
            continue
        info = registry.get(choice.name)
        try:
            classes[choice.name] = info.load()
        except PluginLoadError as exc:
            if strict:
                raise
            warnings.warn(f"fanlog: {exc}; going on without it (strict=True raises)",
                          RuntimeWarning, stacklevel=3)
    kwargs = {
        c.name: validate_options(c.name, classes[c.name], c.options, run_defaults or {})
        for c in selection.choices if c.name in classes
    }
    backends: dict[str, object] = {}
    for choice in selection.choices:
        if choice.instance is not None:
            backends[choice.name] = choice.instance
        elif choice.name in classes:
            try:
                backends[choice.name] = classes[choice.name](**kwargs[choice.name])
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"logger {choice.name!r}: {exc}") from exc
    return backends


def validate_options(name: str, cls: type, options: Mapping[str, Any],
                     run_defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Check option names and simple types against the constructor; add run defaults."""
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return dict(options)
    params = sig.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    accepted = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not takes_any:
        for key in options:
            if key not in accepted:
                close = difflib.get_close_matches(key, accepted, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"logger {name!r} has no option {key!r}.{hint} "
                                  f"Its options: {', '.join(accepted) or 'none'}")
    hints = _type_hints(cls)
    for key, value in options.items():
        expected = hints.get(key)
        if expected is not None and not _matches(value, expected):
            raise ConfigError(f"logger {name!r}: option {key!r} must be {_describe(expected)}, "
                              f"got {type(value).__name__} {value!r}")
    merged = {k: v for k, v in run_defaults.items() if k in accepted}
    merged.update(options)
    return merged


def _type_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls.__init__)
    except Exception:
        return {}


_SIMPLE = (bool, int, float, str, Path, type(None), list, dict, tuple)


def _matches(value: Any, expected: Any) -> bool:
    """True unless ``value`` clearly is not of the simple type(s) ``expected`` names."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(expected))
    if origin is typing.Literal:
        return value in typing.get_args(expected)
    if origin is not None:
        expected = origin
    if expected is Any or not isinstance(expected, type) or expected not in _SIMPLE:
        return True
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is Path:
        return isinstance(value, str | Path)
    return isinstance(value, expected)


def _describe(expected: Any) -> str:
    if typing.get_origin(expected) is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(expected))
    return str(expected).replace("typing.", "").replace("<class '", "").replace("'>", "")
