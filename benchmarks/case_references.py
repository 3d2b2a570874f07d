"""Case 3: further references, each against the fanlog call that does the same job.

* ``accelerator.log`` (Accelerate's trackers, TensorBoard here) against
  ``FanOut(["tensorboard"]).log_metrics``: one dict of 10 tensor values per step, every
  step. Accelerate writes on the caller's thread; fanlog hands the values to the backend's
  worker. Reported: caller time per call, and CPU time of the process per call (all
  threads, finalize included: the writing still has to happen somewhere).
* MMEngine's ``MessageHub.update_scalar`` against ``fanlog.log_scalar`` (the hub: the same
  engine as ``self.log``): 10 tensor values per step recorded into the running hub, the
  engine's collection every 50 steps included in fanlog's time.

No targets: these are references. A system that does not install is reported as skipped.
"""

from __future__ import annotations

import time
from typing import Any

from common import METRICS, available, interleaved, quiet, stats, tmpdir

TITLE = "References: accelerator.log and MMEngine MessageHub"


def values(steps: int) -> list[list[Any]]:
    import torch

    g = torch.Generator().manual_seed(0)
    return [[t for t in torch.rand(METRICS, generator=g)] for _ in range(steps)]


def fanlog_log_metrics(data: list[list[Any]]) -> tuple[float, float]:
    from fanlog import FanOut

    names = [f"m{i}" for i in range(METRICS)]
    with tmpdir() as root, quiet():
        cpu = time.process_time()
        fan = FanOut(["tensorboard"], run_defaults={"save_dir": str(root)}, summary=False)
        start = time.perf_counter()
        for step, row in enumerate(data):
            fan.log_metrics(dict(zip(names, row, strict=True)), step=step)
        caller = time.perf_counter() - start
        fan.finalize()
        return caller / len(data), (time.process_time() - cpu) / len(data)


def accelerate_log(data: list[list[Any]]) -> tuple[float, float]:
    from accelerate import Accelerator

    names = [f"m{i}" for i in range(METRICS)]
    with tmpdir() as root, quiet():
        cpu = time.process_time()
        acc = Accelerator(log_with="tensorboard", project_dir=str(root), cpu=True)
        acc.init_trackers("bench")
        start = time.perf_counter()
        for step, row in enumerate(data):
            acc.log(dict(zip(names, row, strict=True)), step=step)
        caller = time.perf_counter() - start
        acc.end_training()
        return caller / len(data), (time.process_time() - cpu) / len(data)


def fanlog_hub(data: list[list[Any]]) -> tuple[float, float]:
    import torch

    from fanlog import hub
    from fanlog.metrics import MetricsEngine

    engine = MetricsEngine()
    engine.enter("train", "training_step")
    names = [f"m{i}" for i in range(METRICS)]
    batch = torch.zeros(64, 32)
    log_scalar = hub.log_scalar
    with hub.activated(engine):
        cpu, start = time.process_time(), time.perf_counter()
        for step, row in enumerate(data, 1):
            engine.begin_batch(batch)
            for name, value in zip(names, row, strict=True):
                log_scalar(name, value)
            if step % 50 == 0:
                engine.collect_step()
        calls = len(data) * METRICS
        return (time.perf_counter() - start) / calls, (time.process_time() - cpu) / calls


def mmengine_hub(data: list[list[Any]]) -> tuple[float, float]:
    from mmengine.logging import MessageHub

    message_hub = MessageHub(name=f"bench-{time.monotonic_ns()}")
    names = [f"m{i}" for i in range(METRICS)]
    cpu, start = time.process_time(), time.perf_counter()
    for row in data:
        for name, value in zip(names, row, strict=True):
            message_hub.update_scalar(name, value)
    calls = len(data) * METRICS
    return (time.perf_counter() - start) / calls, (time.process_time() - cpu) / calls


def compare(ours: Any, theirs: Any, label: str, steps: int, repeats: int) -> dict[str, Any]:
    data = values(steps)
    got = interleaved({"fanlog": lambda: ours(data), label: lambda: theirs(data)}, repeats)
    out: dict[str, Any] = {"runs": got}
    for name, reps in got.items():
        out[name] = {"caller": stats([c for c, _ in reps]), "cpu": stats([p for _, p in reps])}
    out["ratio_caller"] = out[label]["caller"]["median"] / out["fanlog"]["caller"]["median"]
    out["ratio_cpu"] = out[label]["cpu"]["median"] / out["fanlog"]["cpu"]["median"]
    return out


def run(quick: bool) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    steps, repeats = (300, 2) if quick else (1000, 5)
    pairs = [("accelerate", "accelerator.log (TensorBoard tracker)",
              "FanOut.log_metrics (tensorboard)", "per call (10 values)",
              fanlog_log_metrics, accelerate_log),
             ("mmengine", "MessageHub.update_scalar", "fanlog.log_scalar", "per value",
              fanlog_hub, mmengine_hub)]
    rows, raw, skipped = [], {}, []
    for module, theirs_name, ours_name, unit, ours, theirs in pairs:
        if not available(module):
            skipped.append(f"{module} is not installed")
            rows.append([theirs_name, "skipped: not installed", "", "", "", "", ""])
            continue
        r = compare(ours, theirs, module, steps, repeats)
        raw[module] = r
        f, t = r["fanlog"], r[module]
        rows.append([f"{theirs_name} vs {ours_name}", unit,
                     _us(t["caller"]), _us(f["caller"]), f"{r['ratio_caller']:.0f}x",
                     f"{t['cpu']['median'] * 1e6:.1f} / {f['cpu']['median'] * 1e6:.1f}",
                     f"{r['ratio_cpu']:.1f}x"])
    return {
        "title": TITLE,
        "what": (f"{steps} steps x {METRICS} tensor values, {repeats} interleaved repeats "
                 "(medians, min-max). Ratios are theirs / fanlog: above 1, fanlog is cheaper."),
        "tables": [{"columns": ["comparison", "unit", "theirs µs (caller)", "fanlog µs (caller)",
                                "ratio caller", "CPU µs theirs / fanlog (all threads)",
                                "ratio CPU"], "rows": rows}],
        "targets": [],
        "notes": ["fanlog's caller time for log_metrics is the conversion of the values and "
                  "the enqueue; the TensorBoard writing happens on the backend's worker and "
                  "shows in the CPU column."],
        "raw": raw,
        "skipped": "; ".join(skipped) if len(skipped) == len(pairs) else None,
    }


def _us(s: dict[str, float]) -> str:
    return f"{s['median'] * 1e6:.1f} ({s['min'] * 1e6:.1f}-{s['max'] * 1e6:.1f})"


def plot(result: dict[str, Any], path: str) -> None:
    import matplotlib.pyplot as plt

    raw = result["raw"]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    labels, theirs, ours = [], [], []
    for name, r in raw.items():
        labels.append({"accelerate": "accelerator.log\nvs log_metrics",
                       "mmengine": "MessageHub.update_scalar\nvs log_scalar"}[name])
        theirs.append(r[name]["caller"]["median"] * 1e6)
        ours.append(r["fanlog"]["caller"]["median"] * 1e6)
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], theirs, 0.4, label="reference")
    ax.bar([x + 0.2 for x in xs], ours, 0.4, label="fanlog")
    ax.set_yscale("log")
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel("µs per call, caller (log scale)")
    ax.set_title("Caller-side cost per call")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
