"""Install-like distributions for discovery tests: a ``*.dist-info`` folder with METADATA and
entry_points.txt plus a module, on a folder put on sys.path (what pip leaves on disk)."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path


def make_dist(site: Path, dist: str, version: str, loggers: dict[str, str],
              modules: dict[str, str] | None = None) -> None:
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{name} = {target}" for name, target in loggers.items())
    (info / "entry_points.txt").write_text(f"[fanlog.loggers]\n{lines}\n")
    for module, source in (modules or {}).items():
        path = site / (module.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))


def activate(site: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()


def forget(*modules: str) -> None:
    for name in modules:
        sys.modules.pop(name, None)
