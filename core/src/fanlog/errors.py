"""Errors that say what to do next."""

from __future__ import annotations


class FanlogError(Exception):
    """Base class of every error fanlog raises on purpose."""


class ConfigError(FanlogError, ValueError):
    """A logger selection or a logger's options are wrong; raised before anything starts."""


class UnknownLoggerError(ConfigError):
    """A selected logger name is not installed (the message lists what is)."""


class DuplicateLoggerError(ConfigError):
    """Two installed distributions claim the same logger name."""


class PluginLoadError(FanlogError):
    """A plugin's entry point is installed but importing it failed."""

    def __init__(self, name: str, distribution: str, version: str, error: BaseException):
        self.name, self.distribution, self.version, self.error = name, distribution, version, error
        super().__init__(
            f"logger {name!r} from {distribution} {version} failed to load: "
            f"{type(error).__name__}: {error}"
        )


class BackendError(FanlogError):
    """One or more backends raised while handling fan-out calls."""

    def __init__(self, failures: dict[str, BaseException]):
        self.failures = failures
        lines = [f"{name}: {type(exc).__name__}: {exc}" for name, exc in failures.items()]
        super().__init__("backend(s) failed: " + "; ".join(lines))
