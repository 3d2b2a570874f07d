"""Case 1: what one ``self.log`` call costs the training thread, fanlog against Lightning.

The same module trains under each trainer (csv backend, logging every 50 steps: both
defaults) and logs 1 or 10 metrics per step, tensor or float values, with
``on_step=True, on_epoch=True``. Two figures per system and configuration:

* ``call``: wall time inside the ``self.log`` calls (perf_counter around them, its own
  overhead subtracted), median over the steps, per call;
* ``amortized``: CPU time of the process (all threads: fanlog's backend workers count) per
  training-loop iteration with the logs, minus the same module computing the same values
  without logging them, per call. It also charges what happens later with the values
  (collection at logging steps, conversion, the backend writing).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from common import (
    interleaved,
    loader,
    metric_values,
    model,
    quiet,
    silence_lightning,
    stats,
    target,
    timer_overhead,
    tmpdir,
)

TITLE = "self.log per-call overhead"
CONFIGS = [("tensor", 1), ("tensor", 10), ("float", 1), ("float", 10)]
TARGET = 50.0  # Lightning / fanlog, in-call time


class StepClock:
    """CPU time of the process between consecutive batch starts: one whole loop iteration,
    including what a trainer does after the batch-end callbacks (Lightning logs there)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._last: float | None = None

    def on_train_batch_start(self, *args: Any, **kwargs: Any) -> None:
        now = time.process_time()
        if self._last is not None:
            self.times.append(now - self._last)
        self._last = now


def make_module(base: type, kind: str, n: int, log: bool, calls: list[float]) -> Any:
    """The workload on top of ``base`` (fanlog's Module or LightningModule)."""
    import torch

    class Bench(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.net = model()
            self.keys = [f"metric_{i}" for i in range(n)]

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            values = metric_values(loss, n, as_float=kind == "float")
            if log:
                start = time.perf_counter()
                for key, value in zip(self.keys, values, strict=True):
                    self.log(key, value, on_step=True, on_epoch=True)
                calls.append(time.perf_counter() - start)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    return Bench()


def fit_fanlog(kind: str, n: int, log: bool, steps: int) -> tuple[list[float], list[float]]:
    from fanlog.module import Module
    from fanlog.trainer import Trainer

    calls: list[float] = []
    clock = StepClock()
    with tmpdir() as root, quiet():
        trainer = Trainer(max_steps=steps, loggers=["csv"], default_root_dir=str(root),
                          enable_progress_bar=False, callbacks=[clock],
                          logger_options={"summary": False})
        trainer.fit(make_module(Module, kind, n, log, calls), loader(steps))
    return calls, clock.times


def fit_lightning(kind: str, n: int, log: bool, steps: int) -> tuple[list[float], list[float]]:
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import CSVLogger

    calls: list[float] = []
    clock = StepClock()
    callback = type("Clock", (pl.Callback,), {"on_train_batch_start": clock.on_train_batch_start})
    with tmpdir() as root, quiet():
        trainer = pl.Trainer(max_steps=steps, logger=CSVLogger(str(root)),
                             default_root_dir=str(root), enable_progress_bar=False,
                             enable_checkpointing=False, enable_model_summary=False,
                             callbacks=[callback()], accelerator="cpu", devices=1,
                             num_sanity_val_steps=0)
        trainer.fit(make_module(pl.LightningModule, kind, n, log, calls), loader(steps))
    return calls, clock.times


def measure(fit: Any, kind: str, n: int, steps: int, overhead: float) -> dict[str, float]:
    """µs per self.log call in one repeat: in the call, and amortized over the loop."""
    skip = steps // 10  # warm-up steps
    calls, with_logs = fit(kind, n, True, steps)
    _, without = fit(kind, n, False, steps)
    call = max(statistics.median(calls[skip:]) - overhead, 0.0) / n
    amortized = (statistics.mean(with_logs[skip:]) - statistics.mean(without[skip:])) / n
    return {"call_us": call * 1e6, "amortized_us": amortized * 1e6}


def run(quick: bool) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    silence_lightning()
    steps, repeats = (100, 2) if quick else (300, 5)
    overhead = timer_overhead()
    systems = {"fanlog": fit_fanlog}
    try:
        import lightning  # noqa: F401

        systems["lightning"] = fit_lightning
    except ImportError:
        pass
    rows, targets, raw = [], [], {}
    for kind, n in CONFIGS:
        runs = {name: (lambda f=fit, k=kind, n=n: measure(f, k, n, steps, overhead))
                for name, fit in systems.items()}
        got = interleaved(runs, repeats, warmup=(kind, n) == CONFIGS[0])
        cfg = f"{kind} x{n}"
        raw[cfg] = got
        med = {name: {k: stats([r[k] for r in reps]) for k in ("call_us", "amortized_us")}
               for name, reps in got.items()}
        row = [cfg]
        for name in ("fanlog", "lightning"):
            for k in ("call_us", "amortized_us"):
                row.append(_fmt(med[name][k]) if name in med else "n/a")
        if "lightning" in med:
            call_ratio = med["lightning"]["call_us"]["median"] / med["fanlog"]["call_us"]["median"]
            am_ratio = (med["lightning"]["amortized_us"]["median"]
                        / med["fanlog"]["amortized_us"]["median"])
            row += [f"{call_ratio:.0f}x", f"{am_ratio:.0f}x"]
            targets.append(target(f"{cfg}: Lightning / fanlog, in-call time", call_ratio,
                                  TARGET, higher_is_better=True))
            raw[cfg + " ratios"] = {"call": call_ratio, "amortized": am_ratio}
        rows.append(row)
    return {
        "title": TITLE,
        "what": (f"{steps} steps per fit, {repeats} interleaved repeats (medians, min-max), "
                 "csv backend, log_every_n_steps=50, on_step=True and on_epoch=True, "
                 f"perf_counter overhead {overhead * 1e9:.0f} ns subtracted. Target: fanlog's "
                 "in-call time at most 1/50 of Lightning's."),
        "tables": [{
            "columns": ["values x metrics", "fanlog call µs", "fanlog amortized µs",
                        "Lightning call µs", "Lightning amortized µs",
                        "Lightning/fanlog call", "Lightning/fanlog amortized"],
            "rows": rows}],
        "targets": targets,
        "notes": ["amortized = (CPU per loop iteration with the logs - without) / calls; "
                  "with 1 metric it is within the noise of a ~1 ms iteration."],
        "raw": raw,
        "skipped": None if "lightning" in systems else "lightning is not installed",
    }


def _fmt(s: dict[str, float]) -> str:
    return f"{s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f})"


def plot(result: dict[str, Any], path: str) -> None:
    import matplotlib.pyplot as plt

    raw = result["raw"]
    cfgs = [c for c in raw if not c.endswith("ratios")]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    width = 0.38
    for j, name in enumerate(("fanlog", "lightning")):
        meds = [statistics.median(r["call_us"] for r in raw[c][name]) for c in cfgs
                if name in raw[c]]
        if meds:
            ax.bar([i + (j - 0.5) * width for i in range(len(meds))], meds, width, label=name)
    ax.set_yscale("log")
    ax.set_xticks(range(len(cfgs)), cfgs)
    ax.set_ylabel("µs per self.log call (log scale)")
    ax.set_title("self.log: time inside the call")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
