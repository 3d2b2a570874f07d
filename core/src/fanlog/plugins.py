"""Find logger backends by name through the ``fanlog.loggers`` entry-point group.

Listing reads installed metadata only: no backend module (and so no slow SDK) is imported
until its name is selected. Capabilities are read from the backend's source without
running it.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from fanlog.errors import ConfigError, DuplicateLoggerError, PluginLoadError, UnknownLoggerError
from fanlog.hookspecs import LOGGER_HOOKS

GROUP = "fanlog.loggers"
CORE_DISTRIBUTION = "fanlog"
#: First-party backends that ship as their own distribution ``fanlog-<name>``.
FIRST_PARTY = ("tensorboard", "mlflow", "wandb", "comet", "neptune")


@dataclass(frozen=True)
class PluginInfo:
    """One installed entry point: enough to list it, and to load it on demand."""

    name: str
    value: str
    distribution: str
    version: str

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()

    @property
    def attr(self) -> str:
        return self.value.partition(":")[2].strip()

    def load(self) -> type:
        """Import the backend class; any failure becomes a :class:`PluginLoadError`
        naming the plugin, its distribution and version, with the original error chained."""
        try:
            obj: Any = importlib.import_module(self.module)
            for part in filter(None, self.attr.split(".")):
                obj = getattr(obj, part)
        except Exception as exc:  # any import-time failure of third-party code
            raise PluginLoadError(self.name, self.distribution, self.version, exc) from exc
        return obj

    def static_capabilities(self) -> tuple[str, ...] | None:
        """The hooks the backend class defines, read from its source without importing it
        (None when the source cannot be read that way)."""
        return _class_hooks(self.module, self.attr, depth=0)


@dataclass
class Registry:
    """What is installed and usable, and why some names are not."""

    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    conflicts: dict[str, list[PluginInfo]] = field(default_factory=dict)
    disabled: dict[str, tuple[PluginInfo, str]] = field(default_factory=dict)

    def names(self) -> list[str]:
        return sorted(self.plugins)

    def get(self, name: str) -> PluginInfo:
        """The plugin called ``name``, or an error that says what to do."""
        if name in self.plugins:
            return self.plugins[name]
        if name in self.conflicts:
            claims = ", ".join(
                f"{p.distribution} {p.version} ({p.value})" for p in self.conflicts[name])
            raise DuplicateLoggerError(
                f"logger {name!r} is claimed by several installed distributions: {claims}. "
                "Uninstall all but one, or pass the backend class/instance itself."
            )
        if name in self.disabled:
            why = self.disabled[name][1]
            raise ConfigError(f"logger {name!r} is installed but disabled: {why}")
        raise UnknownLoggerError(unknown_message(name, self.names()))

    def find_by_class(self, cls: type) -> str | None:
        """The entry-point name registered for ``cls`` (compared as text: nothing imported)."""
        wanted = f"{cls.__module__}:{cls.__qualname__}"
        return next(
            (p.name for p in self.plugins.values() if p.value.replace(" ", "") == wanted), None)


def unknown_message(name: str, installed: list[str]) -> str:
    """`"wandb" is not installed: pip install fanlog-wandb` plus what is installed."""
    if name in FIRST_PARTY:
        head = f"logger {name!r} is not installed: pip install fanlog-{name}."
    else:
        head = f"logger {name!r} is not installed."
        close = difflib.get_close_matches(name, [*installed, *FIRST_PARTY], n=1, cutoff=0.6)
        if close:
            head += f" Did you mean {close[0]!r}?"
            if close[0] not in installed:
                head += f" (pip install fanlog-{close[0]})"
    listed = ", ".join(installed) if installed else "none"
    return f"{head} Installed loggers: {listed}. See `fanlog plugins`."


def _env_names(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def discover(allow: set[str] | None = None, deny: set[str] | None = None) -> Registry:
    """Read the ``fanlog.loggers`` entry points of every installed distribution.

    ``allow``/``deny`` (default: ``FANLOG_ALLOW_PLUGINS`` / ``FANLOG_DENY_PLUGINS``, comma
    separated names) narrow what may be used. ``FANLOG_DISABLE_PLUGIN_AUTOLOAD=1`` keeps only
    core's own backends and the allowed names, so a broken or unwanted third-party plugin
    in the environment can be set aside without uninstalling it.
    """
    allow = allow if allow is not None else _env_names("FANLOG_ALLOW_PLUGINS")
    deny = deny if deny is not None else (_env_names("FANLOG_DENY_PLUGINS") or set())
    no_autoload = os.environ.get("FANLOG_DISABLE_PLUGIN_AUTOLOAD", "") not in ("", "0", "false")
    registry = Registry()
    claims: dict[str, list[PluginInfo]] = {}
    for ep in entry_points(group=GROUP):
        dist = ep.dist
        info = PluginInfo(
            ep.name,
            ep.value,
            dist.metadata["Name"] if dist is not None else "?",
            dist.version if dist is not None else "?",
        )
        reason = None
        if ep.name in deny:
            reason = "listed in FANLOG_DENY_PLUGINS"
        elif allow is not None and ep.name not in allow and not (
            no_autoload and info.distribution == CORE_DISTRIBUTION
        ):
            reason = "not in FANLOG_ALLOW_PLUGINS"
        elif no_autoload and allow is None and info.distribution != CORE_DISTRIBUTION:
            reason = "FANLOG_DISABLE_PLUGIN_AUTOLOAD is set (allow it with FANLOG_ALLOW_PLUGINS)"
        if reason:
            registry.disabled[ep.name] = (info, reason)
        elif info not in claims.setdefault(ep.name, []):
            claims[ep.name].append(info)
    for name, infos in claims.items():
        if len(infos) == 1:
            registry.plugins[name] = infos[0]
        else:
            registry.conflicts[name] = infos
    return registry


def capabilities_of(backend: object) -> tuple[str, ...]:
    """The logger hooks a loaded backend class or instance implements, in spec order."""
    cls = backend if isinstance(backend, type) else type(backend)
    return tuple(
        name for name in LOGGER_HOOKS
        if callable(_static_attr(cls, name))
    )


def _static_attr(cls: type, name: str) -> Any:
    """A class attribute looked up without running descriptors (properties stay unrun)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            value = vars(klass)[name]
            return value.__func__ if isinstance(value, staticmethod | classmethod) else value
    return None


# -- reading capabilities from source, without importing ------------------------------------

def _module_file(module: str) -> Path | None:
    """Locate a module's source without importing it or its parent packages."""
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    locations = list(spec.submodule_search_locations or [])
    path: Path | None = None
    for i, part in enumerate(rest):
        found = None
        for loc in locations:
            pkg, mod = Path(loc, part, "__init__.py"), Path(loc, f"{part}.py")
            if pkg.is_file():
                found, locations = pkg, [str(pkg.parent)]
                break
            if mod.is_file() and i == len(rest) - 1:
                found = mod
                break
        if found is None:
            return None
        path = found
    return path


def _class_hooks(module: str, attr: str, depth: int) -> tuple[str, ...] | None:
    if depth > 5 or "." in attr or not attr:
        return None
    path = _module_file(module)
    if path is None:
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    is_package = path.name == "__init__.py"
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == attr:
            return _hooks_of_classdef(tree, node, module, is_package, depth)
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == attr:
                    source = _resolve_from(node, module, is_package)
                    return _class_hooks(source, alias.name, depth + 1) if source else None
    return None


def _hooks_of_classdef(
    tree: ast.Module, node: ast.ClassDef, module: str, is_package: bool, depth: int
) -> tuple[str, ...] | None:
    names = {
        item.name for item in node.body
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
        and not any(_is_property(d) for d in item.decorator_list)
    }
    for base in node.bases:
        if isinstance(base, ast.Name) and base.id == "object":
            continue
        if not isinstance(base, ast.Name):
            return None  # a base we cannot follow statically
        inherited = _class_hooks(module, base.id, depth + 1)
        if inherited is None:
            return None
        names.update(inherited)
    return tuple(h for h in LOGGER_HOOKS if h in names)


def _is_property(decorator: ast.expr) -> bool:
    return isinstance(decorator, ast.Name) and decorator.id in ("property", "cached_property")


def _resolve_from(node: ast.ImportFrom, module: str, is_package: bool) -> str | None:
    if node.level == 0:
        return node.module
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    if not base:
        return None
    return ".".join([*base, node.module] if node.module else base)
