"""Run fanlog's benchmark suite and record it: ``benchmarks/results.json``, a PNG per case and
``docs/benchmarks.md``.

    bash benchmarks/setup.sh && .venv-bench/bin/python benchmarks/run.py [--quick] [--cases 1,2]

Each case is a module here with ``run(quick) -> dict`` and ``plot(result, path)``. It runs
in its own child process (so one case's imports and memory do not colour the next), with
HOME and every SDK folder in a temporary directory and the SDKs offline. ``--cases`` runs a
subset and keeps the other cases' recorded results.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CASES = {
    "1": "case_self_log",
    "2": "case_fit",
    "3": "case_references",
    "4": "case_fanout",
    "5": "case_scale",
    "6": "case_imports",
    "7": "case_distributed",
    "8": "case_lightning",
}


def run_case(number: str, quick: bool, timeout: float) -> dict:
    """Run one case in a child process and return its result (or the error it ended with)."""
    from common import private_env

    with tempfile.TemporaryDirectory(prefix="fanlog-bench-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", CASES[number],
               "--result", str(out)] + (["--quick"] if quick else [])
        start, load = time.perf_counter(), os.getloadavg()
        env = private_env(Path(tmp) / "env")
        cwd = Path(tmp) / "cwd"
        cwd.mkdir()
        try:
            done = subprocess.run(cmd, env=env, cwd=cwd, timeout=timeout, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            log = done.stdout
        except subprocess.TimeoutExpired as exc:
            log = f"timed out after {timeout:.0f} s\n{exc.stdout or ''}"
        result = json.loads(out.read_text()) if out.exists() else {
            "title": CASES[number], "error": log[-3000:] or "no result"}
        result["meta"] = {"seconds": round(time.perf_counter() - start, 1), "quick": quick,
                          "load_before": [round(x, 2) for x in load],
                          "load_after": [round(x, 2) for x in os.getloadavg()]}
        return result


def child(module_name: str, quick: bool, out: Path) -> None:
    """Inside the child process: run the case and write its result as JSON."""
    import importlib

    module = importlib.import_module(module_name)
    try:
        result = module.run(quick)
    except Exception:
        result = {"title": getattr(module, "TITLE", module_name),
                  "error": traceback.format_exc()[-3000:]}
    out.write_text(json.dumps(result, indent=1, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (about 2 minutes)")
    parser.add_argument("--cases", default=",".join(CASES), help="e.g. 1,2,5 (default: all)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"),
                        help="folder for the plots (the page goes beside it, as <out>.md)")
    parser.add_argument("--results", default=str(HERE / "results.json"))
    parser.add_argument("--timeout", type=float, default=600, help="seconds per case")
    parser.add_argument("--report", action="store_true",
                        help="only rewrite the page and plots from the recorded results")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.quick, Path(args.result))
        return

    import report

    results_path, out = Path(args.results), Path(args.out)
    if args.report:
        write_report(json.loads(results_path.read_text()), out)
        return
    chosen = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    recorded = json.loads(results_path.read_text()) if results_path.exists() else {}
    cases = recorded.get("cases", {})
    started = time.perf_counter()
    for number in chosen:
        print(f"[{number}] {CASES[number]} ...", flush=True)
        result = run_case(number, args.quick, args.timeout)
        cases[number] = result
        state = "ERROR" if "error" in result else (
            f"skipped: {result['skipped']}" if result.get("skipped") else "done")
        print(f"[{number}] {state} in {result['meta']['seconds']} s", flush=True)
        if "error" in result:
            print(result["error"], file=sys.stderr)
    command = "python benchmarks/run.py" + " ".join(
        [""] + (["--quick"] if args.quick else [])
        + ([f"--cases {args.cases}"] if chosen != list(CASES) else []))
    recorded = {"machine": report.machine(), "command": command,
                "seconds": round(time.perf_counter() - started, 1),
                "cases": dict(sorted(cases.items()))}
    results_path.write_text(json.dumps(recorded, indent=1, default=str) + "\n")
    print(f"wrote {results_path}")
    write_report(recorded, out)


def write_report(recorded: dict, out: Path) -> None:
    """The plots in ``out`` and the page beside it (``out`` + ``.md``)."""
    import report

    out.mkdir(parents=True, exist_ok=True)
    report.plots(recorded, out, CASES)
    page = out.with_suffix(".md")
    page.write_text(report.markdown(recorded, out, page, HERE / "findings.md"))
    cases = recorded["cases"].values()
    missed = [t for c in cases for t in c.get("targets", []) if not t["met"]]
    print(f"wrote {page} and the plots in {out}/; targets: "
          f"{sum(len(c.get('targets', [])) for c in cases) - len(missed)} met, "
          f"{len(missed)} missed")


if __name__ == "__main__":
    main()
