"""Case 5: scale. Memory over a long run, and how fast the CSV and TensorBoard backends write.

* Memory: the fanlog Trainer runs 100k steps (10k with ``--quick``) logging 20 metrics per
  step with ``on_step=True, on_epoch=True`` to csv and tensorboard, every 50 steps; the step
  itself does no model work, so only logging is measured. Resident memory is sampled every
  tenth of the run. Epoch values are running statistics (O(1) per metric) and the values
  waiting for a logging step are bounded, so memory must stay flat: the growth from the
  second sample to the last is the figure. In the full run a control keeps every value as
  a float, showing what growth looks like when there is some.
* Throughput: scalars per second written by the fanlog backend (through a FanOut, and
  called directly), against the raw writer writing the same values: ``SummaryWriter
  .add_scalar`` for TensorBoard, ``csv.writer`` on a buffered file for CSV. Timed from the
  first write to closed files. The fanlog csv backend writes each row with one
  ``os.write`` (a crash leaves whole rows only), the raw writer buffers.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from common import interleaved, peak_rss_mb, quiet, rss_mb, stats, target, tmpdir

TITLE = "Scale: 100k steps x 20 metrics; write throughput"
NAMES = 20
GROWTH_LIMIT_MB = 5.0


# -- memory -----------------------------------------------------------------------------------
def memory(steps: int, keep: bool = False) -> dict[str, Any]:
    """RSS samples (step, MiB) of one fit, and the peak."""
    import torch

    from fanlog.module import Module
    from fanlog.trainer import Trainer

    class Logs(Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def training_step(self, batch, batch_idx):
            for i in range(NAMES):
                self.log(f"m{i}", batch[i], on_step=True, on_epoch=True)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    class Sampler:
        def __init__(self) -> None:
            self.samples: list[tuple[int, float]] = []
            self.kept: list[list[float]] = []

        def on_train_batch_end(self, batch: Any, batch_idx: int) -> None:
            if keep:
                self.kept.append(batch.tolist())
            if (batch_idx + 1) % (steps // 10) == 0:
                self.samples.append((batch_idx + 1, round(rss_mb(), 2)))

    g = torch.Generator().manual_seed(0)
    batches = [torch.rand(NAMES, generator=g) for _ in range(1000)]
    data = [batches[i % 1000] for i in range(steps)]
    sampler = Sampler()
    with tmpdir() as root, quiet():
        trainer = Trainer(max_epochs=1, loggers=["csv", "tensorboard"], log_every_n_steps=50,
                          default_root_dir=str(root), enable_progress_bar=False,
                          callbacks=[sampler], logger_options={"summary": False})
        start = time.perf_counter()
        trainer.fit(Logs(), data)
        seconds = time.perf_counter() - start
    epoch = [k for k in trainer.callback_metrics if k.endswith("_epoch")]
    assert len(epoch) == NAMES, epoch
    mb = [m for _, m in sampler.samples]
    return {"samples": sampler.samples, "peak_mb": round(peak_rss_mb(), 1),
            "growth_mb": round(mb[-1] - mb[1], 2), "seconds": round(seconds, 1)}


# -- throughput -------------------------------------------------------------------------------
def rows(steps: int) -> list[dict[str, float]]:
    return [{f"metric_{i}": step * 0.001 + i for i in range(NAMES)} for step in range(steps)]


def tb_raw(root: Path, data: list[dict[str, float]]) -> float:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(root / "raw"))
    start = time.perf_counter()
    for step, row in enumerate(data):
        for name, value in row.items():
            writer.add_scalar(name, value, step)
    writer.close()
    return time.perf_counter() - start


def tb_backend(root: Path, data: list[dict[str, float]]) -> float:
    from fanlog_tensorboard import TensorBoardLogger

    logger = TensorBoardLogger(save_dir=str(root), default_hp_metric=False)
    logger.experiment  # noqa: B018  (the writer exists before the timing, as for raw)
    start = time.perf_counter()
    for step, row in enumerate(data):
        logger.log_metrics(row, step)
    logger.finalize("success")
    return time.perf_counter() - start


def csv_raw(root: Path, data: list[dict[str, float]]) -> float:
    start = time.perf_counter()
    with open(root / "raw.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", *data[0]])
        for step, row in enumerate(data):
            writer.writerow([step, *row.values()])
    return time.perf_counter() - start


def csv_backend(root: Path, data: list[dict[str, float]]) -> float:
    from fanlog.builtin.csv import CSVLogger

    logger = CSVLogger(save_dir=root)
    start = time.perf_counter()
    for step, row in enumerate(data):
        logger.log_metrics(row, step)
    logger.finalize("success")
    return time.perf_counter() - start


def via_fanout(name: str) -> Any:
    def write(root: Path, data: list[dict[str, float]]) -> float:
        from fanlog import FanOut

        fan = FanOut([{"name": name, "save_dir": str(root)}], summary=False)
        start = time.perf_counter()
        for step, row in enumerate(data):
            fan.log_metrics(row, step=step)
        fan.finalize()
        return time.perf_counter() - start

    return write


def throughput(writers: dict[str, Any], steps: int, repeats: int) -> dict[str, Any]:
    data = rows(steps)

    def once(fn: Any) -> float:
        with tmpdir() as root, quiet():
            return NAMES * steps / fn(root, data)

    got = interleaved({k: (lambda f=f: once(f)) for k, f in writers.items()}, repeats)
    return {k: stats(v) for k, v in got.items()}


def run(quick: bool) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    steps = 10_000 if quick else 100_000
    mem = memory(steps)
    control = None if quick else memory(steps, keep=True)
    repeats = 2 if quick else 5
    tb_steps, csv_steps = (500, 5000) if quick else (2000, 20_000)
    tb = throughput({"raw SummaryWriter": tb_raw, "fanlog backend": tb_backend,
                     "fanlog FanOut": via_fanout("tensorboard")}, tb_steps, repeats)
    cs = throughput({"raw csv.writer": csv_raw, "fanlog backend": csv_backend,
                     "fanlog FanOut": via_fanout("csv")}, csv_steps, repeats)
    table = []
    for kind, res, raw_name, n in (("TensorBoard", tb, "raw SummaryWriter", tb_steps),
                                   ("CSV", cs, "raw csv.writer", csv_steps)):
        for name, s in res.items():
            table.append([f"{kind} ({n} steps x {NAMES})", name,
                          f"{s['median']:,.0f} ({s['min']:,.0f}-{s['max']:,.0f})",
                          f"{s['median'] / res[raw_name]['median']:.2f}x"])
    targets = [target(f"RSS growth over {steps:,} steps (sample 2 to 10)", mem["growth_mb"],
                      GROWTH_LIMIT_MB, unit="MiB")]
    for kind, res, raw_name in (("TensorBoard", tb, "raw SummaryWriter"),
                                ("CSV", cs, "raw csv.writer")):
        targets.append(target(f"{kind} writer throughput: fanlog backend / raw writer",
                              res["fanlog backend"]["median"] / res[raw_name]["median"],
                              1 / 1.3, higher_is_better=True))
    mem_rows = [["fanlog (csv + tensorboard)", " ".join(f"{m:.0f}" for _, m in mem["samples"]),
                 f"{mem['growth_mb']:+.1f}", mem["peak_mb"], mem["seconds"]]]
    if control:
        mem_rows.append(["control: every value kept",
                         " ".join(f"{m:.0f}" for _, m in control["samples"]),
                         f"{control['growth_mb']:+.1f}", control["peak_mb"],
                         control["seconds"]])
    return {
        "title": TITLE,
        "what": (f"Memory: {steps:,} steps x {NAMES} metrics (on_step and on_epoch), "
                 "logging every 50 steps to csv + tensorboard. Throughput: "
                 f"{repeats} interleaved repeats (medians, min-max). Targets: RSS growth "
                 f"<= {GROWTH_LIMIT_MB:g} MiB after the first tenth; the fanlog writer (the "
                 "backend called directly) at least 1/1.3 of the raw writer's throughput. "
                 "Through a FanOut the values also cross to the backend's worker thread: "
                 "shown, without a target (case 4 measures that hand-off)."),
        "tables": [
            {"caption": "Resident memory (MiB) every tenth of the run",
             "columns": ["run", "RSS samples", "growth", "peak RSS", "seconds"],
             "rows": mem_rows},
            {"caption": "Write throughput (scalars per second)",
             "columns": ["writer", "system", "scalars/s", "vs raw"], "rows": table},
        ],
        "targets": targets,
        "notes": [],
        "raw": {"memory": mem, "control": control, "tensorboard": tb, "csv": cs},
        "skipped": None,
    }


def plot(result: dict[str, Any], path: str) -> None:
    import matplotlib.pyplot as plt

    raw = result["raw"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    for label, mem in (("fanlog", raw["memory"]), ("control: values kept", raw["control"])):
        if mem:
            left.plot([s / 1000 for s, _ in mem["samples"]], [m for _, m in mem["samples"]],
                      marker="o", label=label)
    left.set_xlabel("steps (thousands)")
    left.set_ylabel("RSS (MiB)")
    left.set_title("Memory over the run")
    left.legend(fontsize=8)
    labels, ratios = [], []
    for kind in ("tensorboard", "csv"):
        res = raw[kind]
        base = next(v for k, v in res.items() if k.startswith("raw"))["median"]
        for name, s in res.items():
            if not name.startswith("raw"):
                labels.append(f"{kind}\n{name.removeprefix('fanlog ')}")
                ratios.append(s["median"] / base)
    right.bar(range(len(labels)), ratios)
    right.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    right.set_xticks(range(len(labels)), labels, fontsize=7)
    right.set_ylabel("scalars/s vs raw writer")
    right.set_title("Write throughput")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
