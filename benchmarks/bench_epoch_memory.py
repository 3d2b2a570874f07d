"""Memory of epoch accumulation: one epoch of 100k steps, 10 metrics logged per step with
``on_epoch=True`` (and on_step), under the fanlog Trainer with the csv backend.

Resident memory is sampled every 10k steps. Epoch values are accumulated as running
statistics, O(1) per metric, and the values waiting for a logging step are bounded, so
RSS must stay flat: we print the samples and the growth after warm-up, for logging every
50 steps (the default) and for a run that never reaches a logging step before the epoch
ends (the waiting values are then folded in when ``max_pending`` is reached).
Run: ``python benchmarks/bench_epoch_memory.py [--steps 100000]``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

import torch

from fanlog.module import Module
from fanlog.trainer import Trainer

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


class Logs10(Module):
    """No model work: only the logging under test (tensor values, one per metric)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def training_step(self, batch, batch_idx):
        for i in range(10):
            self.log(f"m{i}", batch[i], on_step=True, on_epoch=True)
        return None

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class RSS:
    """Samples RSS; with ``leak`` it also keeps every step's values as floats, as an
    accumulator that stores values would (a control showing what growth looks like)."""

    def __init__(self, every: int, leak: bool = False) -> None:
        self.every, self.samples, self.leak, self.kept = every, [], leak, []

    def on_train_batch_end(self, batch: torch.Tensor, batch_idx: int) -> None:
        if self.leak:
            self.kept.append(batch.tolist())
        if (batch_idx + 1) % self.every == 0:
            self.samples.append((batch_idx + 1, round(rss_mb(), 1)))


def run(steps: int, log_every: int, leak: bool = False) -> list[tuple[int, float]]:
    batches = [torch.rand(10) for _ in range(1000)]
    data = [batches[i % 1000] for i in range(steps)]
    sampler = RSS(steps // 10, leak)
    with tempfile.TemporaryDirectory() as root:
        trainer = Trainer(max_epochs=1, loggers=["csv"], log_every_n_steps=log_every,
                          default_root_dir=root, enable_progress_bar=False,
                          callbacks=[sampler], logger_options={"summary": False})
        trainer.fit(Logs10(), data)
        epoch = {k: v for k, v in trainer.callback_metrics.items() if k.endswith("_epoch")}
    assert len(epoch) == 10, epoch
    return sampler.samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--control", action="store_true",
                        help="also run the control that keeps every value")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}
    cases = [("log every 50 steps", 50, False), ("no logging step", 10**9, False)]
    if args.control:
        cases.append(("control: values kept", 50, True))
    for label, log_every, leak in cases:
        samples = run(args.steps, log_every, leak)
        results[label] = samples
        after_warmup = [mb for _, mb in samples[1:]]
        print(f"{label}: RSS (MB) every {args.steps // 10} steps: "
              + " ".join(f"{mb:.1f}" for _, mb in samples))
        print(f"  growth from step {samples[1][0]} to {samples[-1][0]}: "
              f"{after_warmup[-1] - after_warmup[0]:+.1f} MB "
              f"(max-min {max(after_warmup) - min(after_warmup):.1f} MB)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "rss_mb": results}, fh, indent=2)


if __name__ == "__main__":
    main()
