"""Per-call cost of ``self.log`` with a tensor value: fanlog against Lightning, side by side.

The same tiny module runs under each trainer for a few hundred steps, logging ``--names``
metrics per step (the loss times a constant: a tensor that requires grad, as users log),
with step logging every 50 steps (both trainers' default) and the csv backend. Two
figures per framework:

* ``call``: CPU time of the training thread inside the ``self.log`` calls;
* ``amortized``: (CPU time per step with the logs - without) / logs per step, which
  also charges what the trainer does later with the values (collection at logging steps,
  conversion, the backend's writing).

Cases run interleaved (Lightning, fanlog, repeat) in this one process; medians are shown.
Lightning is needed only here: ``pip install lightning`` in a separate environment.
Run: ``python benchmarks/bench_self_log.py [--steps 300] [--names 20] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
import warnings

import torch
from torch.utils.data import DataLoader, TensorDataset


def data(steps: int) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(torch.randn(steps * 8, 16, generator=g)), batch_size=8)


def make_module(base: type, names: int, log: bool, timings: list[float]) -> torch.nn.Module:
    """The workload, on top of ``base`` (fanlog.Module or LightningModule); without
    ``log`` it computes the same values but does not log them."""

    class Bench(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.net = torch.nn.Linear(16, 1)
            self.keys = [f"metric_{i}" for i in range(names)]

        def training_step(self, batch, batch_idx):
            loss = self.net(batch[0]).pow(2).mean()
            values = [loss * i for i in range(names)]
            if log:
                start = time.thread_time()
                for key, value in zip(self.keys, values, strict=True):
                    self.log(key, value)
                timings.append(time.thread_time() - start)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    return Bench()


class StepTimer:
    """CPU time of this process (all its threads: backend workers count) per training
    batch, from batch start to batch end; CPU time, unlike wall time, does not move when
    other processes compete for this 2-core machine."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_batch_start(self, *args, **kwargs) -> None:
        self._start = time.process_time()

    def on_train_batch_end(self, *args, **kwargs) -> None:
        self.times.append(time.process_time() - self._start)


def run_fanlog(steps: int, names: int, log: bool, root: str) -> tuple[list[float], list[float]]:
    from fanlog.module import Module
    from fanlog.trainer import Trainer

    timings: list[float] = []
    timer = StepTimer()
    trainer = Trainer(max_steps=steps, loggers=["csv"], default_root_dir=root,
                      enable_progress_bar=False, callbacks=[timer],
                      logger_options={"summary": False})
    trainer.fit(make_module(Module, names, log, timings), data(steps))
    return timings, timer.times


def run_lightning(steps: int, names: int, log: bool,
                  root: str) -> tuple[list[float], list[float]]:
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import CSVLogger

    timings: list[float] = []
    timer = StepTimer()
    callback = type("Timer", (pl.Callback,), {
        "on_train_batch_start": timer.on_train_batch_start,
        "on_train_batch_end": timer.on_train_batch_end})()
    trainer = pl.Trainer(max_steps=steps, logger=CSVLogger(root), default_root_dir=root,
                         enable_progress_bar=False, enable_checkpointing=False,
                         enable_model_summary=False, callbacks=[callback],
                         accelerator="cpu", devices=1, num_sanity_val_steps=0)
    trainer.fit(make_module(pl.LightningModule, names, log, timings), data(steps))
    return timings, timer.times


def measure(runner, steps: int, names: int) -> dict[str, float]:
    """Median µs per self.log call: inside the calls, and amortized over the loop."""
    with tempfile.TemporaryDirectory() as root:
        calls, with_logs = runner(steps, names, True, root)
    with tempfile.TemporaryDirectory() as root:
        _, without = runner(steps, names, False, root)
    skip = steps // 10  # warm-up
    call = statistics.median(calls[skip:]) / names
    amortized = (statistics.mean(with_logs[skip:]) - statistics.mean(without[skip:])) / names
    return {"call_us": call * 1e6, "amortized_us": amortized * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--names", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(1)  # intra-op threads only add spin-wait noise at this size
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    runners = {"fanlog": run_fanlog}
    try:
        import lightning  # noqa: F401

        runners = {"lightning": run_lightning, **runners}
    except ImportError:
        print("lightning is not installed: fanlog figures only")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in runners}
    for _ in range(args.repeats):
        for name, runner in runners.items():
            results[name].append(measure(runner, args.steps, args.names))
    summary = {name: {k: statistics.median(r[k] for r in rows) for k in rows[0]}
               for name, rows in results.items()}
    print(f"self.log with a tensor value: {args.names} names x {args.steps} steps, "
          f"median of {args.repeats} interleaved repeats (torch {torch.__version__}, CPU)")
    for name, row in summary.items():
        print(f"  {name:10s} call {row['call_us']:8.2f} µs   amortized "
              f"{row['amortized_us']:8.2f} µs per self.log")
    if "lightning" in summary:
        for kind in ("call_us", "amortized_us"):
            ratio = summary["lightning"][kind] / summary["fanlog"][kind]
            print(f"  Lightning / fanlog ({kind[:-3]}): {ratio:.0f}x  (target: >= 50x)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "summary": summary, "runs": results}, fh, indent=2)


if __name__ == "__main__":
    main()
