"""The Lightning parity table of docs/backends/index.md: every "yes" names a test, and every
named test exists (a function of that file, or a conformance-kit check its class inherits)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "backends" / "index.md"
KIT = ROOT / "core" / "src" / "fanlog" / "testing" / "conformance.py"


def parity_rows() -> list[list[str]]:
    """The table's rows as cells: logger, option or method, fanlog, test."""
    text = PAGE.read_text(encoding="utf-8")
    table = text.split("<!-- parity-table -->")[1].split("<!-- /parity-table -->")[0]
    rows = []
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        assert len(cells) == 4, line
        rows.append(cells)
    return rows


def _defined(path: Path) -> dict[str, set[str]]:
    """Top-level functions (under "") and each class's methods."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {"": set()}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[""].add(node.name)
        elif isinstance(node, ast.ClassDef):
            found[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
    return found


def test_every_yes_names_a_test_that_exists():
    kit = _defined(KIT)["BackendConformance"]
    rows = parity_rows()
    assert len(rows) > 60
    for logger, item, fanlog, test in rows:
        if test in ("—", "part A"):
            assert not fanlog.startswith(("yes", "hook")) or test == "part A" or \
                "online only" in fanlog, f"{logger} {item}: a yes without a test"
            continue
        path, *names = test.split("::")
        defined = _defined(ROOT / path)
        if len(names) == 1:
            assert names[0] in defined[""], f"{test} does not exist"
        else:
            cls, method = names
            assert cls in defined, f"{test}: no class {cls}"
            assert method in defined[cls] | kit, f"{test} does not exist"
