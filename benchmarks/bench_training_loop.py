"""A whole training loop under the fanlog Trainer against a hand-written PyTorch loop that
writes the same values itself.

Workload: a small MLP (32-64-1, batches of 64) logging 10 metrics at every step, to the
console and to a csv file. The hand-written loop brings the 10 values to the host in one
transfer, writes one flushed csv row and prints one console line per step; the trainer
uses ``loggers=["console", "csv"]`` with ``log_every_n_steps=1`` (and also keeps its
``run.log``). Console output goes to /dev/null for both. Cases run interleaved in this
one process; the medians of CPU time (all threads of the process) and wall time per step
are compared. Target: the trainer within 1.3x of the hand-written loop.
Run: ``python benchmarks/bench_training_loop.py [--steps 500] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from fanlog.module import Module
from fanlog.trainer import Trainer

METRICS = 10


def data(steps: int) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(steps * 64, 32, generator=g)
    return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=64)


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))


def metrics_of(loss: torch.Tensor) -> list[torch.Tensor]:
    return [loss.detach() * (i + 1) for i in range(METRICS)]


def handwritten(steps: int, root: Path) -> None:
    net = model()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    loader = data(steps)
    names = [f"m{i}" for i in range(METRICS)]
    with open(root / "metrics.csv", "w") as fh:
        fh.write(",".join(["step", "epoch", *names]) + "\n")
        for step, (x, y) in enumerate(loader, 1):
            loss = torch.nn.functional.mse_loss(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values = torch.stack(metrics_of(loss)).tolist()
            fh.write(",".join([str(step), "0.0", *map(repr, values)]) + "\n")
            fh.flush()
            stamp = time.strftime("%m/%d %H:%M:%S")
            parts = "  ".join(f"{n}: {v:.4f}" for n, v in zip(names, values, strict=True))
            print(f"{stamp} - fanlog - INFO - Epoch(train) [1][{step}/{len(loader)}]  {parts}",
                  flush=True)


class Bench(Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = model()

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        for i, value in enumerate(metrics_of(loss)):
            self.log(f"m{i}", value)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def with_trainer(steps: int, root: Path) -> None:
    trainer = Trainer(max_epochs=1, loggers=["console", "csv"], log_every_n_steps=1,
                      default_root_dir=str(root), enable_progress_bar=False,
                      logger_options={"summary": False})
    trainer.fit(Bench(), data(steps))


CASES = {"hand-written": handwritten, "fanlog Trainer": with_trainer}


def run(case: str, steps: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) per step."""
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as sink, \
            contextlib.redirect_stdout(sink):
        cpu, wall = time.process_time(), time.perf_counter()
        CASES[case](steps, Path(tmp))
        return (time.process_time() - cpu) / steps, (time.perf_counter() - wall) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(1)  # intra-op threads only add spin-wait noise at this size
    for case in CASES:  # warm-up: imports, first optimizer, thread start-up
        run(case, 20)
    results: dict[str, list[tuple[float, float]]] = {case: [] for case in CASES}
    for _ in range(args.repeats):
        for case in CASES:
            results[case].append(run(case, args.steps))
    cpu = {c: statistics.median(r[0] for r in rows) for c, rows in results.items()}
    wall = {c: statistics.median(r[1] for r in rows) for c, rows in results.items()}
    print(f"{METRICS} metrics per step, console + csv at every step, {args.steps} steps, "
          f"median of {args.repeats} interleaved repeats (torch {torch.__version__}, CPU)")
    for case in CASES:
        print(f"  {case:15s} CPU {cpu[case] * 1e6:7.0f} µs/step   wall "
              f"{wall[case] * 1e6:7.0f} µs/step")
    base, ours = "hand-written", "fanlog Trainer"
    print(f"  ratio trainer / hand-written: CPU {cpu[ours] / cpu[base]:.2f}x, wall "
          f"{wall[ours] / wall[base]:.2f}x  (target: <= 1.3x)")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"args": vars(args), "cpu": cpu, "wall": wall, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
