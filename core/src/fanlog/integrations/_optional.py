"""The error an integration raises when its framework is not installed."""

from __future__ import annotations


def missing(module: str, framework: str, extra: str, exc: ImportError) -> ImportError:
    """``fanlog.integrations.X needs Y: pip install "fanlog[X]"``, the import error chained."""
    return ImportError(f"{module} needs {framework}, which is not installed: "
                       f'pip install "fanlog[{extra}]" ({exc})')
