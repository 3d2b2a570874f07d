"""Case 2: a whole fit logging to the console, CSV and TensorBoard: the fanlog Trainer,
Lightning (CSVLogger + TensorBoardLogger) and a hand-written loop that writes the same
values itself with ``SummaryWriter`` and a csv file (the floor).

Each fit trains the tiny MLP and computes 10 metrics (tensors) per step, logged with
``self.log`` by the trainers; every ``log_every_n_steps`` (1 and 50) those values go out: a
csv row, 10 TensorBoard scalars and, for fanlog and the floor, a console line (stdout is
/dev/null). The floor computes the values at every step too (that is the model's work) and
writes them at the logging steps. Lightning has no console
logger; its progress bar is off, like fanlog's. A run is timed from building the trainer
(or the writers) to the end of ``fit`` with every file closed: wall time, and CPU time of
the process (all threads). Targets: fanlog at most 1.3x the floor, and faster than
Lightning, in wall time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from common import (
    METRICS,
    interleaved,
    loader,
    metric_values,
    model,
    quiet,
    silence_lightning,
    stats,
    target,
    tmpdir,
)

TITLE = "End-to-end fit: console + csv + tensorboard"
EVERY = (1, 50)
FLOOR_TARGET = 1.3


def handwritten(steps: int, every: int, root: Path) -> None:
    """The floor: the same training and the same values, written by hand."""
    import torch
    from torch.utils.tensorboard import SummaryWriter

    net = model()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    names = [f"m{i}" for i in range(METRICS)]
    writer = SummaryWriter(str(root / "tb"))
    with open(root / "metrics.csv", "w") as fh:
        fh.write(",".join(["step", "epoch", *names]) + "\n")
        for step, (x, y) in enumerate(loader(steps), 1):
            loss = torch.nn.functional.mse_loss(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values = metric_values(loss)  # the model's work, done at every step as for the others
            if step % every:
                continue
            values = torch.stack(values).tolist()
            fh.write(",".join([str(step), "0.0", *map(repr, values)]) + "\n")
            fh.flush()
            for name, value in zip(names, values, strict=True):
                writer.add_scalar(name, value, step)
            parts = "  ".join(f"{n}: {v:.4f}" for n, v in zip(names, values, strict=True))
            print(f"{time.strftime('%m/%d %H:%M:%S')} - INFO - [{step}/{steps}]  {parts}",
                  flush=True)
    writer.close()


def _module(base: type) -> Any:
    import torch

    class Bench(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.net = model()

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            for i, value in enumerate(metric_values(loss)):
                self.log(f"m{i}", value)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    return Bench()


def with_fanlog(steps: int, every: int, root: Path) -> None:
    from fanlog.module import Module
    from fanlog.trainer import Trainer

    trainer = Trainer(max_epochs=1, loggers=["console", "csv", "tensorboard"],
                      log_every_n_steps=every, default_root_dir=str(root),
                      enable_progress_bar=False, logger_options={"summary": False})
    trainer.fit(_module(Module), loader(steps))


def with_lightning(steps: int, every: int, root: Path) -> None:
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    trainer = pl.Trainer(max_epochs=1, logger=[CSVLogger(str(root)), TensorBoardLogger(str(root))],
                         log_every_n_steps=every, default_root_dir=str(root),
                         enable_progress_bar=False, enable_checkpointing=False,
                         enable_model_summary=False, accelerator="cpu", devices=1,
                         num_sanity_val_steps=0)
    trainer.fit(_module(pl.LightningModule), loader(steps))


def timed(fn: Any, steps: int, every: int) -> tuple[float, float]:
    """(wall, CPU) seconds per step of one whole run."""
    with tmpdir() as root, quiet():
        cpu, wall = time.process_time(), time.perf_counter()
        fn(steps, every, root)
        return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def run(quick: bool) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    silence_lightning()
    steps, repeats = (100, 2) if quick else (400, 5)
    systems = {"floor": handwritten, "fanlog": with_fanlog}
    try:
        import lightning  # noqa: F401

        systems["lightning"] = with_lightning
    except ImportError:
        pass
    rows, targets, raw = [], [], {}
    for every in EVERY:
        got = interleaved({n: (lambda f=f, e=every: timed(f, steps, e))
                           for n, f in systems.items()}, repeats, warmup=every == EVERY[0])
        raw[str(every)] = got
        wall = {n: stats([w for w, _ in reps]) for n, reps in got.items()}
        cpu = {n: stats([c for _, c in reps]) for n, reps in got.items()}
        for name in systems:
            w, c = wall[name]["median"], cpu[name]["median"]
            rows.append([every, name,
                         f"{w * 1e6:.0f} ({wall[name]['min'] * 1e6:.0f}-"
                         f"{wall[name]['max'] * 1e6:.0f})",
                         f"{c * 1e6:.0f}", f"{w / wall['floor']['median']:.2f}x",
                         f"{c / cpu['floor']['median']:.2f}x"])
        ratio = wall["fanlog"]["median"] / wall["floor"]["median"]
        targets.append(target(f"log_every_n_steps={every}: fanlog / floor, wall", ratio,
                              FLOOR_TARGET))
        if "lightning" in wall:
            vs = wall["fanlog"]["median"] / wall["lightning"]["median"]
            targets.append(target(f"log_every_n_steps={every}: fanlog / Lightning, wall", vs,
                                  1.0))
    return {
        "title": TITLE,
        "what": (f"{steps} steps x {METRICS} metrics, {repeats} interleaved repeats (medians, "
                 "min-max); time per step of the whole run, construction to closed files. "
                 "Targets: fanlog <= 1.3x the hand-written floor, and below Lightning (< 1x)."),
        "tables": [{"columns": ["log_every_n_steps", "system", "wall µs/step", "CPU µs/step",
                                "wall vs floor", "CPU vs floor"], "rows": rows}],
        "targets": targets,
        "notes": [],
        "raw": raw,
        "skipped": None if "lightning" in systems else "lightning is not installed",
    }


def plot(result: dict[str, Any], path: str) -> None:
    import statistics

    import matplotlib.pyplot as plt

    raw = result["raw"]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    systems = list(next(iter(raw.values())))
    width = 0.8 / len(systems)
    for j, name in enumerate(systems):
        floor = [statistics.median(w for w, _ in raw[e]["floor"]) for e in raw]
        ratios = [statistics.median(w for w, _ in raw[e][name]) / f
                  for e, f in zip(raw, floor, strict=True)]
        ax.bar([i + (j - (len(systems) - 1) / 2) * width for i in range(len(raw))], ratios,
               width, label=name)
    ax.axhline(FLOOR_TARGET, color="grey", linestyle="--", linewidth=1, label="target 1.3x")
    ax.set_xticks(range(len(raw)), [f"log_every_n_steps={e}" for e in raw])
    ax.set_ylabel("wall time / hand-written floor")
    ax.set_title("Whole fit, console + csv + tensorboard")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
