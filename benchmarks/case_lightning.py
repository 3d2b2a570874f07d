"""Case 8: inside Lightning's own Trainer, Lightning's loggers against ``FanLogger``.

The same fit (the tiny MLP, 10 metrics logged with ``self.log`` per step, progress bar,
checkpoints and model summary off) with:

* ``lightning``: ``logger=[CSVLogger, TensorBoardLogger]``, Lightning's own;
* ``fanlog``: ``logger=FanLogger(["csv", "tensorboard"])``;
* ``lightning + 50 ms``: Lightning's two and a third Lightning logger whose
  ``log_metrics`` takes 50 ms, like a slow tracking server;
* ``fanlog + 50 ms + failing``: ``FanLogger(["csv", "tensorboard", slow, failing])``, the
  slow backend and one that raises at every call.

Per run: the training loop's time per step (``on_train_start`` to ``on_train_end``: what
the loggers cost the training itself) and the whole fit's (construction to ``fit``
returning, files closed and every backend finalized: fanlog's queued calls to the slow
backend are delivered by then). Also run once: Lightning's own loggers beside a logger
that raises: the fit ends with its exception.
"""

from __future__ import annotations

import itertools
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

TITLE = "Lightning's own loggers vs FanLogger, and beside a 50 ms backend"
DELAY = 0.05
EVERY = (1, 10)
SLOW_TARGET = 1.2  # the fan-out with a slow and a failing backend vs without, loop time


def _module() -> Any:
    import lightning.pytorch as pl
    import torch

    class Bench(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = model()

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            for i, value in enumerate(metric_values(loss)):
                self.log(f"m{i}", value)
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    return Bench()


def _lightning_loggers(counts: dict[str, int]) -> tuple[type, type]:
    """A Lightning logger taking DELAY per log_metrics call (its count goes to ``counts``
    at finalize), and one that raises."""
    from lightning.pytorch.loggers import Logger

    class Slow(Logger):
        name, version, experiment = "slow", 0, None

        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def log_metrics(self, metrics: Any, step: Any = None) -> None:
            time.sleep(DELAY)
            self.calls += 1

        def finalize(self, status: str) -> None:
            counts["lightning slow logger"] = self.calls

        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            pass

    class Failing(Slow):
        def log_metrics(self, metrics: Any, step: Any = None) -> None:
            raise RuntimeError("tracking server says no")

    return Slow, Failing


class SlowBackend:
    """A fanlog backend taking DELAY per log_metrics call (counts what it got)."""

    def __init__(self) -> None:
        self.calls = 0

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        time.sleep(DELAY)
        self.calls += 1


class FailingBackend:
    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        raise RuntimeError("tracking server says no")


def fit(loggers: Any, steps: int, every: int, root: Path) -> dict[str, float]:
    """Seconds: the median step that called the loggers and the median one that did not
    (each step from one ``on_train_batch_start`` to the next, Lightning's logging
    included), and the whole fit per step."""
    import statistics

    import lightning.pytorch as pl

    marks: list[float] = []

    class Clock(pl.Callback):
        def on_train_batch_start(self, trainer: Any, *args: Any) -> None:
            marks.append(time.perf_counter())

        def on_train_end(self, trainer: Any, module: Any) -> None:
            marks.append(time.perf_counter())

    begin = time.perf_counter()
    trainer = pl.Trainer(max_epochs=1, logger=loggers(root), log_every_n_steps=every,
                         default_root_dir=str(root), enable_progress_bar=False,
                         enable_checkpointing=False, enable_model_summary=False,
                         accelerator="cpu", devices=1, callbacks=[Clock()])
    trainer.fit(_module(), loader(steps))
    whole = time.perf_counter() - begin
    spans = [b - a for a, b in itertools.pairwise(marks)]
    logging = [d for i, d in enumerate(spans) if (i + 1) % every == 0]  # Lightning's rule
    quiet_steps = [d for i, d in enumerate(spans) if (i + 1) % every]
    return {"logging_step": statistics.median(logging),
            "other_step": statistics.median(quiet_steps) if quiet_steps else float("nan"),
            "whole": whole / steps}


def systems(counts: dict[str, int]) -> dict[str, Any]:
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from fanlog.integrations.lightning import FanLogger

    slow_cls, _ = _lightning_loggers(counts)

    def own(root: Path) -> list[Any]:
        return [CSVLogger(str(root)), TensorBoardLogger(str(root))]

    def own_slow(root: Path) -> list[Any]:
        return [*own(root), slow_cls()]

    def ours(root: Path) -> Any:
        return FanLogger(["csv", "tensorboard"], save_dir=str(root), summary=False)

    def ours_slow(root: Path) -> Any:
        slow = SlowBackend()

        class Counted(FanLogger):
            def finalize(self, status: str) -> None:
                super().finalize(status)
                counts["fanlog slow backend"] = slow.calls

        return Counted(["csv", "tensorboard", slow, FailingBackend()], save_dir=str(root),
                       summary=False)

    return {"lightning": own, "fanlog": ours, "lightning + 50 ms": own_slow,
            "fanlog + 50 ms + failing": ours_slow}


def timed(loggers: Any, steps: int, every: int) -> dict[str, float]:
    with tmpdir() as root, quiet():
        return fit(loggers, steps, every, root)


def failing_own(steps: int, every: int) -> str:
    """Lightning's own loggers beside one that raises: what becomes of the fit."""
    from lightning.pytorch.loggers import CSVLogger

    _, failing = _lightning_loggers({})
    with tmpdir() as root, quiet():
        try:
            fit(lambda r: [CSVLogger(str(r)), failing()], steps, every, root)
        except RuntimeError as exc:
            return f"the fit raised {type(exc).__name__}: {exc}"
    return "the fit completed"


def run(quick: bool) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    silence_lightning()
    steps, repeats = (100, 2) if quick else (300, 5)
    counts: dict[str, int] = {}
    every_system = systems(counts)
    rows, targets, raw = [], [], {}
    for every in EVERY:
        # the 50 ms loggers only at the sparser logging: at every step Lightning's would
        # add 50 ms to each step, minutes per run
        chosen = {n: f for n, f in every_system.items() if every == 10 or "50 ms" not in n}
        got = interleaved({n: (lambda f=f, e=every: timed(f, steps, e))
                           for n, f in chosen.items()}, repeats, warmup=every == EVERY[0])
        raw[str(every)] = got
        med = {n: {k: stats([r[k] for r in reps]) for k in reps[0]} for n, reps in got.items()}
        for name in chosen:
            m, base = med[name], med["lightning"]
            rows.append([every, name, _ms(m["logging_step"]),
                         f"{m['logging_step']['median'] / base['logging_step']['median']:.2f}x",
                         "" if every == 1 else _ms(m["other_step"]), _ms(m["whole"]),
                         f"{m['whole']['median'] / base['whole']['median']:.2f}x"])
        targets.append(target(
            f"log_every_n_steps={every}: fanlog / Lightning's own loggers, logging step",
            med["fanlog"]["logging_step"]["median"] / med["lightning"]["logging_step"]["median"],
            1.2))
        if "fanlog + 50 ms + failing" in med:
            targets.append(target(
                f"log_every_n_steps={every}: fanlog with a 50 ms and a failing backend / "
                "fanlog alone, logging step",
                med["fanlog + 50 ms + failing"]["logging_step"]["median"]
                / med["fanlog"]["logging_step"]["median"], SLOW_TARGET))
    logged = steps // 10
    targets.append(target("calls the 50 ms fanlog backend received / calls logged (last run)",
                          counts.get("fanlog slow backend", 0) / logged, 1.0,
                          higher_is_better=True))
    return {
        "title": TITLE,
        "what": (f"{steps} steps x {METRICS} metrics, {repeats} interleaved repeats; ms per "
                 "step, each step from one on_train_batch_start to the next (Lightning's "
                 "logging included): the median step that called the loggers, the median one "
                 "that did not, and the whole fit (construction to fit returning, every "
                 "backend finalized) per step; medians over repeats (min-max). Ratios against "
                 "Lightning's own CSVLogger + TensorBoardLogger. Targets: fanlog's logging "
                 "step within 1.2x of Lightning's own loggers; a 50 ms and a failing backend "
                 "beside them cost fanlog's logging step at most 1.2x."),
        "tables": [{"columns": ["log_every_n_steps", "loggers", "logging step ms",
                                "vs lightning", "other step ms", "whole fit ms/step",
                                "vs lightning"], "rows": rows}],
        "targets": targets,
        "notes": [
            f"Lightning's own loggers with a logger that raises in log_metrics: "
            f"{failing_own(steps, 10)}; fanlog's failing backend is fenced off and the "
            "fit goes on.",
            "A 50 ms Lightning logger blocks each logging step for its 50 ms. Through "
            "FanLogger the slow backend works on its own thread; what it has not delivered "
            "when the loop ends is delivered in finalize (in the whole-fit column).",
        ],
        "raw": {"runs": raw, "slow_calls": {**counts, "logged": logged}},
        "skipped": None,
    }


def _ms(s: dict[str, float]) -> str:
    return f"{s['median'] * 1e3:.2f} ({s['min'] * 1e3:.2f}-{s['max'] * 1e3:.2f})"


def plot(result: dict[str, Any], path: str) -> None:
    import statistics

    import matplotlib.pyplot as plt

    runs = result["raw"]["runs"]["10"]
    names = list(runs)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    xs = range(len(names))
    for offset, key, label in ((-0.27, "logging_step", "step that logs"),
                               (0.0, "other_step", "other steps"),
                               (0.27, "whole", "whole fit / steps")):
        values = [statistics.median(r[key] for r in runs[n]) * 1e3 for n in names]
        ax.bar([x + offset for x in xs], values, 0.27, label=label)
    ax.set_xticks(list(xs), [n.replace(" + ", "\n+ ") for n in names], fontsize=8)
    ax.set_ylabel("ms")
    ax.set_title("Lightning Trainer, log_every_n_steps=10: its own loggers vs FanLogger",
                 fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
