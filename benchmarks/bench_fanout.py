"""Caller-side cost of the fan-out: a training loop logging every step, with and without slow
backends. The claim under test: a backend taking 5 or 50 ms per call does not slow the loop.

Every case runs in this one process, interleaved, several repeats; we report medians (and
min-max) of the loop's time per step and its ratio to the same loop with no slow backend.
Run: ``python benchmarks/bench_fanout.py [--steps 300] [--repeats 5] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import torch

from fanlog import FanOut


class Sleeper:
    """A backend that takes ``delay`` seconds per call, like a remote tracking server."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def log_metrics(self, metrics, step):
        time.sleep(self.delay)


def train_loop(run: FanOut | None, steps: int) -> float:
    """Seconds per step of a small MLP training loop logging 10 metrics at every step."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(64, 32), torch.randn(64, 1)
    start = time.perf_counter()
    for step in range(steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if run is not None:
            metrics = {f"m{i}": loss.detach() * i for i in range(9)}
            metrics["loss"] = loss.detach()
            run.log_metrics(metrics, step=step)
    return (time.perf_counter() - start) / steps


CASES = {
    "csv": lambda d: ["csv"],
    "csv + 5 ms backend": lambda d: ["csv", Sleeper(0.005)],
    "csv + 50 ms backend": lambda d: ["csv", Sleeper(0.05)],
    "csv + 50 ms x4 backends": lambda d: ["csv", *[Sleeper(0.05) for _ in range(4)]],
}


def run_case(name: str, steps: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        run = FanOut(CASES[name](tmp), run_defaults={"save_dir": tmp}, summary=False)
        per_step = train_loop(run, steps)
        # Slow backends still have work queued; that is not the caller's time. Report how
        # much was pending when the loop ended, then let them drain at full speed.
        pending = sum(o.stats.received - o.stats.delivered for o in run.outlets.values())
        for backend in run.backends.values():
            if isinstance(backend, Sleeper):
                backend.delay = 0.0
        summary = run.finalize()
        assert summary.complete, summary.format()
    return per_step, pending


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="write results here too")
    args = parser.parse_args()
    train_loop(None, 50)  # warm up torch
    times: dict[str, list[float]] = {"no logging": [], **{name: [] for name in CASES}}
    pending: dict[str, int] = {}
    for _ in range(args.repeats):  # interleaved: every case once per round
        times["no logging"].append(train_loop(None, args.steps))
        for name in CASES:
            per_step, pending[name] = run_case(name, args.steps)
            times[name].append(per_step)
    base = statistics.median(times["csv"])
    print(f"{args.steps} steps x 10 metrics logged every step, {args.repeats} interleaved repeats")
    print(f"{'case':28} {'median us/step':>15} {'min-max':>17} {'vs csv alone':>13} {'pending':>8}")
    results = {}
    for name, values in times.items():
        med = statistics.median(values)
        results[name] = {"median_s": med, "min_s": min(values), "max_s": max(values),
                         "ratio_to_csv": med / base, "pending_at_end": pending.get(name, 0)}
        print(f"{name:28} {med * 1e6:15.1f} {min(values) * 1e6:8.1f}-{max(values) * 1e6:<8.1f}"
              f" {med / base:12.2f}x {pending.get(name, 0):8d}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"steps": args.steps, "repeats": args.repeats, "cases": results}, fh,
                      indent=2)


if __name__ == "__main__":
    main()
