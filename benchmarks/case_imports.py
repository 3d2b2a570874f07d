"""Case 6: import cost, ``fanlog plugins`` with every plugin installed, first use of each
backend. Each measurement is a fresh interpreter (imports are cached within one).

* ``import fanlog``, with ``import torch`` and ``import lightning.pytorch`` as references.
* ``fanlog plugins`` (the command's ``main``) with every first-party plugin installed: its
  time, and the check that no backend SDK (tensorboard, wandb, mlflow, comet_ml, neptune)
  was imported to list them. The whole command as a user runs it is timed too.
* First use of each backend, through ``FanOut([name])``: building the fan-out and the
  first ``log_metrics`` on the caller's thread (what training waits for), then how long
  until that first value is delivered (the SDK's import and the run's start happen on the
  worker), and ``finalize``. Every SDK runs offline with its folders in a temporary
  directory; mlflow's first use includes creating its SQLite database.

Targets: ``import fanlog`` does not import torch; ``fanlog plugins`` imports no SDK; for
every backend, building its FanOut imports no SDK (the caller never waits for one).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import stats, target, tmpdir

TITLE = "Import cost and first use of each backend"
SDKS = ("tensorboard", "torch.utils.tensorboard", "wandb", "mlflow", "comet_ml", "neptune")
BACKENDS = {
    "console": {"name": "console"},
    "csv": {"name": "csv"},
    "tensorboard": {"name": "tensorboard"},
    "wandb": {"name": "wandb", "offline": True},
    "mlflow": {"name": "mlflow"},
    "comet": {"name": "comet", "offline": True},
    "neptune": {"logger": "neptune", "mode": "offline"},
}
IMPORT = """
import json, sys, time
t = time.perf_counter()
import {module}
print(json.dumps({{"s": time.perf_counter() - t, "torch": "torch" in sys.modules}}))
"""
PLUGINS = """
import contextlib, io, json, sys, time
t = time.perf_counter()
from fanlog.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["plugins", "--json"])
s = time.perf_counter() - t
names = sorted(r["name"] for r in json.loads(out.getvalue()))
print(json.dumps({{"s": s, "code": code, "names": names, "torch": "torch" in sys.modules,
                  "sdks": sorted(m for m in {sdks!r} if m in sys.modules)}}))
"""
FIRST_USE = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
t = time.perf_counter()
from fanlog import FanOut
t0 = time.perf_counter()
fan = FanOut([{spec!r}], run_defaults={{"save_dir": {root!r}}}, summary=False)
t1 = time.perf_counter()
sdks = sorted(m for m in {sdks!r} if m in sys.modules)  # nothing was logged yet
fan.log_metrics({{"loss": 0.5}}, step=0)
t2 = time.perf_counter()
fan.flush()
t3 = time.perf_counter()
fan.log_metrics({{"loss": 0.25}}, step=1)
t4 = time.perf_counter()
summary = fan.finalize()
t5 = time.perf_counter()
print(json.dumps({{"import": t0 - t, "construct": t1 - t0, "first_call": t2 - t1,
                  "delivered": t3 - t2, "second_call": t4 - t3, "finalize": t5 - t4,
                  "complete": summary.complete, "state": summary.format(), "sdks": sdks}}))
"""


def python(code: str, cwd: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, timeout=300)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def command(args: list[str], cwd: Path) -> float:
    import time

    start = time.perf_counter()
    subprocess.run(args, capture_output=True, cwd=cwd, timeout=300, check=True)
    return time.perf_counter() - start


def run(quick: bool) -> dict[str, Any]:
    repeats = 1 if quick else 3
    fanlog_cmd = str(Path(sys.executable).with_name("fanlog"))
    imports: dict[str, list[float]] = {"fanlog": [], "torch": [], "lightning.pytorch": []}
    torch_by_fanlog, plugins_runs, cli_runs = [], [], []
    first: dict[str, list[dict[str, Any]]] = {name: [] for name in BACKENDS}
    with tmpdir() as cwd:
        for _ in range(repeats):  # interleaved: each measurement once per round
            for module in imports:
                if module == "lightning.pytorch" and quick:
                    continue
                got = python(IMPORT.format(module=module), cwd)
                imports[module].append(got["s"])
                if module == "fanlog":
                    torch_by_fanlog.append(got["torch"])
            plugins_runs.append(python(PLUGINS.format(sdks=SDKS), cwd))
            cli_runs.append(command([fanlog_cmd, "plugins"], cwd))
            for name, spec in BACKENDS.items():
                with tmpdir() as root:
                    first[name].append(python(
                        FIRST_USE.format(spec=spec, root=str(root), sdks=SDKS), cwd))
    imp = {k: stats(v) for k, v in imports.items() if v}
    plugins = stats([r["s"] for r in plugins_runs])
    cli = stats(cli_runs)
    sdks = sorted({m for r in plugins_runs for m in r["sdks"]})
    names = plugins_runs[0]["names"]
    rows = [[f"import {k}", _ms(s)] for k, s in imp.items()]
    rows.append(["fanlog plugins (main, in process)", _ms(plugins)])
    rows.append(["`fanlog plugins` command (interpreter start included)", _ms(cli)])
    fu_rows, targets = [], []
    targets.append(target("runs of `import fanlog` that imported torch",
                          sum(torch_by_fanlog), 0, unit="runs"))
    targets.append(target(f"SDK modules imported by `fanlog plugins` ({len(names)} loggers)",
                          len(sdks), 0, unit="modules"))
    incomplete = []
    for name, runs in first.items():
        s = {k: stats([r[k] for r in runs]) for k in
             ("import", "construct", "first_call", "delivered", "second_call", "finalize")}
        incomplete += [f"{name}: {r['state']}" for r in runs if not r["complete"]]
        early = sorted({m for r in runs for m in r["sdks"]})
        fu_rows.append([name, _ms(s["import"]), _ms(s["construct"], 1), ", ".join(early) or "none",
                        _ms(s["first_call"], 2), _ms(s["delivered"]), _ms(s["second_call"], 3),
                        _ms(s["finalize"])])
        targets.append(target(f"{name}: SDK modules imported by building FanOut([name])",
                              len(early), 0, unit="modules"))
    notes = [f"`fanlog plugins` listed: {', '.join(names)}; SDK modules imported: "
             f"{', '.join(sdks) or 'none'}; torch imported: "
             f"{'yes' if any(r['torch'] for r in plugins_runs) else 'no'}."]
    notes += [f"incomplete run: {x}" for x in incomplete]
    return {
        "title": TITLE,
        "what": (f"A fresh interpreter per measurement, {repeats} interleaved repeat(s) "
                 "(medians, min-max), milliseconds."),
        "tables": [
            {"caption": "Imports and listing", "columns": ["what", "ms"], "rows": rows},
            {"caption": "First use of each backend through FanOut (ms)",
             "columns": ["backend", "import fanlog", "FanOut([name])", "SDK imported by it",
                         "first log_metrics (caller)", "until delivered (SDK import, run start)",
                         "second log_metrics (caller)", "finalize"],
             "rows": fu_rows},
        ],
        "targets": targets,
        "notes": notes,
        "raw": {"imports": imp, "plugins": plugins, "cli": cli, "sdks": sdks, "names": names,
                "first_use": {n: r for n, r in first.items()}},
        "skipped": None,
    }


def _ms(s: dict[str, float], digits: int = 0) -> str:
    return (f"{s['median'] * 1e3:.{digits}f} ({s['min'] * 1e3:.{digits}f}-"
            f"{s['max'] * 1e3:.{digits}f})")


def plot(result: dict[str, Any], path: str) -> None:
    import statistics

    import matplotlib.pyplot as plt

    fu = result["raw"]["first_use"]
    names = list(fu)
    caller = [statistics.median(r["import"] + r["construct"] + r["first_call"] for r in fu[n])
              * 1e3 for n in names]
    worker = [statistics.median(r["delivered"] for r in fu[n]) * 1e3 for n in names]
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], caller, 0.4, label="caller waits (import, FanOut, 1st call)")
    ax.bar([x + 0.2 for x in xs], worker, 0.4, label="worker: until 1st value delivered")
    ax.set_yscale("log")
    ax.set_xticks(list(xs), names, fontsize=8)
    ax.set_ylabel("ms (log scale)")
    ax.set_title("First use of each backend")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
