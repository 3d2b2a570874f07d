"""What the framework integrations' tests share: reading metrics.csv back with the csv
module, the two misbehaving backends every framework run is given, and the docs pages'
runnable blocks."""

from __future__ import annotations

import csv
import re
import shutil
import threading
from pathlib import Path

from tests.core.backends import Raising, Sleeping

ROOT = Path(__file__).parents[2]
#: ``<!-- test: run in=lightning -->``: a block that runs where that framework is installed
FRAMEWORK_BLOCK = re.compile(r"<!-- test: run in=(\w+) -->\s*```python\n(.*?)```", re.S)


def read_rows(path: str | Path) -> list[tuple[int, dict[str, float]]]:
    """metrics.csv's rows in file order, as ``(step, {column: value})`` (empty cells left
    out)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [(int(r["step"]), {k: float(v) for k, v in r.items() if k != "step" and v != ""})
                for r in csv.DictReader(fh)]


def read_csv(path: str | Path) -> dict[int, dict[str, float]]:
    """metrics.csv as ``{step: {column: value}}``."""
    return dict(read_rows(path))


def misbehaving() -> tuple[Raising, Sleeping]:
    """A backend that raises at every log_metrics and one that takes 50 ms per call."""
    return Raising(), Sleeping(delay=0.05)


class Copying:
    """A backend that stores each artifact by copying it, after ``gate`` is set (as a
    tracking server behind its queue would): the file must still be there then."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.gate = threading.Event()
        self.stored: list[str] = []

    def log_artifact(self, path: str, name: str | None, metadata: dict) -> None:
        self.gate.wait(30)
        copy = shutil.copytree if Path(path).is_dir() else shutil.copyfile
        copy(path, self.store / (name or Path(path).name))
        self.stored.append(name or Path(path).name)


def docs_blocks(framework: str) -> list[tuple[str, str]]:
    """``(page#i, code)`` of every block in docs/ marked to run with ``framework``."""
    found = []
    for path in sorted((ROOT / "docs").rglob("*.md")):
        matches = FRAMEWORK_BLOCK.finditer(path.read_text(encoding="utf-8"))
        for i, match in enumerate(m for m in matches if m.group(1) == framework):
            found.append((f"{path.relative_to(ROOT)}#{i}", match.group(2)))
    return found
