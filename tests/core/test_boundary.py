"""The torch-free part of fanlog (the contract, discovery and config, the fan-out, the built-in
backends) never imports the trainer's side, and imports no torch when it is loaded, so a
plain-loop user and the `fanlog` command stay light. Every module is classified here: a new
module fails this test until it is put on one side."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import fanlog

#: the trainer's side (imports torch)
TRAINER_SIDE = {"fanlog.trainer", "fanlog.module", "fanlog.metrics", "fanlog.hub",
                "fanlog.logprocessor", "fanlog.distributed", "fanlog.callbacks", "fanlog.seed",
                "fanlog.history", "fanlog.itertimer", "fanlog.lineformat", "fanlog.textlog"}
#: the tools built on both sides, and the framework integrations (each imports its framework)
TOOLS = {"fanlog.cli", "fanlog.demo", "fanlog.template", "fanlog.testing", "fanlog.templates",
         "fanlog.integrations"}


def _modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(fanlog.__path__, "fanlog.")]
    return sorted({"fanlog", *names})


def _side(name: str, sides: set[str]) -> bool:
    return any(name == s or name.startswith(s + ".") for s in sides)


def _torch_free() -> list[str]:
    return [m for m in _modules() if not _side(m, TRAINER_SIDE | TOOLS)]


def _imports(module: str) -> set[str]:
    spec = __import__("importlib.util").util.find_spec(module)
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_torch_free_part_never_imports_the_trainer_side():
    offenders = {m: sorted(i for i in _imports(m) if _side(i, TRAINER_SIDE) or i == "torch"
                           or i.startswith("torch."))
                 for m in _torch_free() if m != "fanlog"}
    # fanout converts tensors it is handed: it may import torch inside that function only
    assert {m: i for m, i in offenders.items() if i and m != "fanlog.fanout"} == {}
    assert [i for i in offenders.get("fanlog.fanout", []) if i != "torch"] == []


def test_loading_the_torch_free_part_loads_no_torch():
    code = ("import importlib, json, sys\n"
            f"for m in {_torch_free()!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m == 'torch' or "
            f"any(m == s or m.startswith(s + '.') for s in {sorted(TRAINER_SIDE)!r}))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == []
