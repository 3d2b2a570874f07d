"""Case 7: ``sync_dist`` over 2 gloo processes (the fanlog Trainer with ``devices=2``).

The tiny MLP trains under DDP on 2 CPU processes, logging 1 or 50 metrics per step with
``sync_dist=True`` (mean), every step a logging step (``log_every_n_steps=1``). In each
process a callback counts the ``torch.distributed`` collectives called at each step (DDP's
own gradient all-reduce runs in C++ and is not among them) and times each loop iteration.
A reference does what a per-call sync does (Lightning's ``self.log(..., sync_dist=True)``
reduces each value when it is logged): one ``all_reduce`` per metric, then ``self.log``
without ``sync_dist``. Another logs the 50 metrics without syncing them, which separates
the cost of the sync from the cost of logging 50 metrics at every step.

Targets: the collectives per logging step are the same for 50 metrics as for 1, and 50
packed metrics cost less time per step than 50 per-metric all-reduces.
"""

from __future__ import annotations

import json
import statistics
import textwrap
import time
from pathlib import Path
from typing import Any

import torch
from common import loader, model, quiet, stats, target, tmpdir

from fanlog.module import Module

TITLE = "Distributed: sync_dist over 2 gloo processes"
COLLECTIVES = ("all_reduce", "all_gather", "all_gather_object", "broadcast",
               "broadcast_object_list", "reduce", "gather", "scatter", "barrier")


class Synced(Module):
    """Logs ``k`` metrics per step: synced by fanlog (packed), by one all_reduce each
    (``per_metric``), or not synced (``sync=False``)."""

    def __init__(self, k: int, per_metric: bool, sync: bool = True) -> None:
        super().__init__()
        self.net = model()
        self.k, self.per_metric, self.sync = k, per_metric, sync
        self.keys = [f"m{i}" for i in range(k)]

    def training_step(self, batch, batch_idx):
        import torch.distributed as dist

        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        base = loss.detach()
        for i, key in enumerate(self.keys):
            value = base * (i + 1)
            if self.per_metric:
                dist.all_reduce(value)
                self.log(key, value / dist.get_world_size())
            else:
                self.log(key, value, sync_dist=self.sync)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


class Probe:
    """In each process: collectives called per step and the time of each loop iteration,
    written to ``<folder>/rank<N>.json`` at the end of fit."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def on_fit_start(self, trainer) -> None:
        import torch.distributed as dist

        self.counts: dict[int, int] = {}
        self.times: list[float] = []
        self._last: float | None = None
        self._saved = {name: getattr(dist, name) for name in COLLECTIVES}

        def counting(original):
            def call(*args, **kwargs):
                step = trainer.global_step
                self.counts[step] = self.counts.get(step, 0) + 1
                return original(*args, **kwargs)
            return call

        for name, original in self._saved.items():
            setattr(dist, name, counting(original))

    def on_train_batch_start(self, trainer, batch, batch_idx) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.times.append(now - self._last)
        self._last = now

    def on_fit_end(self, trainer) -> None:
        import torch.distributed as dist

        for name, original in self._saved.items():
            setattr(dist, name, original)
        Path(self.folder, f"rank{trainer.global_rank}.json").write_text(
            json.dumps({"counts": self.counts, "times": self.times}))


def fit(k: int, per_metric: bool, steps: int, sync: bool = True) -> dict[str, Any]:
    from fanlog.trainer import Trainer

    with tmpdir() as root, quiet():
        trainer = Trainer(devices=2, accelerator="cpu", max_epochs=1, loggers=["csv"],
                          log_every_n_steps=1, default_root_dir=str(root),
                          enable_progress_bar=False, logger_options={"summary": False},
                          callbacks=[Probe(str(root))], start_method="fork")
        trainer.fit(Synced(k, per_metric, sync), loader(2 * steps))
        ranks = [json.loads((root / f"rank{r}.json").read_text()) for r in (0, 1)]
    last = str(steps)  # the epoch's end adds its own (epoch values)
    counts = [[n for s, n in r["counts"].items() if s != last] for r in ranks]
    skip = steps // 10
    return {"collectives_per_step": [statistics.median(c) if c else 0 for c in counts],
            "max_collectives": [max(c, default=0) for c in counts],
            "logging_steps_counted": [len(c) for c in counts],
            "step_s": statistics.median(ranks[0]["times"][skip:])}


def run(quick: bool) -> dict[str, Any]:
    torch.set_num_threads(1)
    # torch imports its compiler stack (~2 s) when the first optimizer is built: do it once
    # here, before the workers are forked, rather than in every worker of every fit
    torch.optim.SGD(model().parameters(), lr=0.01)
    steps, repeats = (50, 1) if quick else (300, 3)
    configs = {"fanlog, 1 metric": (1, False, True), "fanlog, 50 metrics": (50, False, True),
               "per-metric all_reduce, 50 metrics": (50, True, True),
               "50 metrics, no sync_dist": (50, False, False)}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    for _ in range(repeats):
        for name, (k, per_metric, sync) in configs.items():
            runs[name].append(fit(k, per_metric, steps, sync))
    step = {n: stats([r["step_s"] for r in rs]) for n, rs in runs.items()}
    coll = {n: max(max(r["collectives_per_step"]) for r in rs) for n, rs in runs.items()}
    unsynced = step["50 metrics, no sync_dist"]["median"]
    peak = {n: max(max(r["max_collectives"]) for r in rs) for n, rs in runs.items()}
    base = step["fanlog, 1 metric"]["median"]
    rows = [[n, f"{coll[n]:g}", peak[n],
             f"{step[n]['median'] * 1e6:.0f} ({step[n]['min'] * 1e6:.0f}-"
             f"{step[n]['max'] * 1e6:.0f})", f"{step[n]['median'] / base:.2f}x"]
            for n in configs]
    ratio_50_1 = step["fanlog, 50 metrics"]["median"] / base
    vs_naive = (step["fanlog, 50 metrics"]["median"]
                / step["per-metric all_reduce, 50 metrics"]["median"])
    targets = [
        target("collectives per logging step, 50 synced metrics / 1",
               coll["fanlog, 50 metrics"] / coll["fanlog, 1 metric"], 1.0),
        target("time per step, fanlog 50 metrics / per-metric all_reduce", vs_naive, 1.0),
    ]
    return {
        "title": TITLE,
        "what": (f"{steps} steps per process, {repeats} repeat(s) (medians, min-max), "
                 "every step a logging step; time per loop iteration on rank 0."),
        "tables": [{"columns": ["configuration", "collectives per logging step (median)",
                                "most in one step", "µs per step", "vs fanlog 1 metric"],
                    "rows": rows}],
        "targets": targets,
        "notes": [f"fanlog, 50 / 1 synced metrics: {ratio_50_1:.2f}x the time per step "
                  "(this includes logging 50 metrics at every step: the text log line and the "
                  "csv row); 50 synced / 50 not synced: "
                  f"{step['fanlog, 50 metrics']['median'] / unsynced:.2f}x, the cost of the "
                  "sync itself: one collective, which waits for the slower rank, and packing "
                  "and unpacking the values.",
                  "Mixing reductions adds one MAX collective (min travels negated in it): "
                  "at most 2 per logging step whatever the number of metrics."],
        "raw": {"runs": runs, "step": step, "collectives": coll},
        "skipped": None,
    }


def plot(result: dict[str, Any], path: str) -> None:
    import matplotlib.pyplot as plt

    step, coll = result["raw"]["step"], result["raw"]["collectives"]
    names = list(step)
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    labels = [textwrap.fill(n, 16) for n in names]
    left.bar(range(len(names)), [coll[n] for n in names], color="tab:orange")
    left.set_xticks(range(len(names)), labels, fontsize=7)
    left.set_ylabel("collectives per logging step")
    for i, n in enumerate(names):
        left.annotate(f"{coll[n]:g}", (i, coll[n]), ha="center", va="bottom", fontsize=8)
    left.set_title("Collectives")
    right.bar(range(len(names)), [step[n]["median"] * 1e3 for n in names])
    right.set_xticks(range(len(names)), labels, fontsize=7)
    right.set_ylabel("ms per step (rank 0)")
    right.set_title("Time per step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
