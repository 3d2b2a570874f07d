"""The ``fanlog`` command: ``fanlog plugins`` lists installed backends, ``fanlog new-plugin``
generates a backend project, ``fanlog demo`` trains a small model with fan-out logging."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from fanlog.config import add_cli_arguments
from fanlog.errors import FanlogError, PluginLoadError
from fanlog.plugins import Registry, capabilities_of, discover


def plugin_rows(registry: Registry, load: bool = False) -> list[dict[str, Any]]:
    """One row per installed logger. Without ``load`` nothing is imported: capabilities are
    read from source and the status says whether the module can be found."""
    rows = []
    entries = [(n, [i], "ok") for n, i in registry.plugins.items()]
    entries += [(n, infos, "conflict") for n, infos in registry.conflicts.items()]
    entries += [(n, [info], f"disabled: {why}") for n, (info, why) in registry.disabled.items()]
    for name, infos, status in sorted(entries, key=lambda e: e[0]):
        for info in infos:
            caps = info.static_capabilities()
            if status == "ok" and load:
                try:
                    caps = capabilities_of(info.load())
                    status = "loaded"
                except PluginLoadError as exc:
                    status = f"error: {type(exc.error).__name__}: {exc.error}"
            elif status == "ok" and caps is None and _module_missing(info.module):
                status = f"error: module {info.module!r} not found"
            rows.append({"name": name, "distribution": info.distribution,
                         "version": info.version, "entry_point": info.value,
                         "capabilities": list(caps) if caps is not None else None,
                         "status": status})
    return rows


def _module_missing(module: str) -> bool:
    from fanlog.plugins import _module_file

    return _module_file(module) is None


def _print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("no fanlog loggers installed")
        return
    table = [("name", "distribution", "version", "status", "capabilities")]
    for r in rows:
        caps = "?" if r["capabilities"] is None else ", ".join(r["capabilities"]) or "-"
        table.append((r["name"], r["distribution"], r["version"], r["status"], caps))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fanlog", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_plugins = sub.add_parser("plugins", help="list installed logger backends")
    p_plugins.add_argument("--json", action="store_true", help="machine-readable output")
    p_plugins.add_argument("--load", action="store_true",
                           help="import each backend to check it loads (slow: imports SDKs)")
    p_new = sub.add_parser("new-plugin", help="generate a backend plugin project")
    p_new.add_argument("name", help="the logger's name (lowercase, e.g. 'jsonl')")
    p_new.add_argument("--dir", default=".", help="where to create fanlog-NAME/")
    p_demo = sub.add_parser("demo", help="train a small model with fan-out logging")
    add_cli_arguments(p_demo)
    p_demo.add_argument("--epochs", type=int, default=6)
    p_demo.add_argument("--save-dir", default="runs")
    p_demo.add_argument("--log-every", type=int, default=5, help="log_every_n_steps")
    p_demo.add_argument("--progress-bar", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "plugins":
            rows = plugin_rows(discover(), load=args.load)
            if args.json:
                print(json.dumps(rows, indent=2))
            else:
                _print_table(rows)
            return 0
        if args.command == "new-plugin":
            from fanlog.template import new_plugin

            root = new_plugin(args.name, args.dir)
            print(f"created {root}\nnext: pip install -e {root} && pytest {root}/tests")
            return 0
        from fanlog.demo import run_demo

        return run_demo(args, list(argv) if argv is not None else sys.argv[1:])
    except FanlogError as exc:
        print(f"fanlog: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
