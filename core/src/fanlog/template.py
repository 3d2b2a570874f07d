"""``fanlog new-plugin NAME``: generate a plugin project from the template in
``fanlog/templates/plugin`` (a one-file backend, its packaging and its conformance tests)."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from fanlog.errors import ConfigError

_NAME = re.compile(r"[a-z][a-z0-9_]*")
#: template file -> where it goes in the generated project ({module} is filled in)
LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "backend.py.tmpl": "{module}.py",
    "test_backend.py.tmpl": "tests/test_{module}.py",
}


def new_plugin(name: str, dest: Path | str = ".") -> Path:
    """Write ``fanlog-NAME/`` under ``dest`` and return its path."""
    if not _NAME.fullmatch(name):
        raise ConfigError(f"plugin name {name!r} must be lowercase letters, digits and "
                          "underscores, starting with a letter (it becomes the logger's name)")
    module = f"fanlog_{name}"
    values = {"name": name, "module": module,
              "cls": "".join(part.capitalize() for part in name.split("_")) + "Logger"}
    root = Path(dest) / f"fanlog-{name}"
    if root.exists():
        raise ConfigError(f"{root} already exists")
    source = files("fanlog") / "templates" / "plugin"
    for template, target in LAYOUT.items():
        text = (source / template).read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        path = root / target.format(module=module)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
