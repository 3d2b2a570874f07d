"""Scalars per second: the fanlog TensorBoard backend's ``log_metrics`` (called directly, no
fan-out) against a plain ``SummaryWriter.add_scalar`` loop writing the same values.

    python bench_writer.py [--steps 10000] [--metrics 10] [--repeats 3]

Each timing runs from the first write to a closed writer (everything on disk); the medians
of ``--repeats`` alternating runs are compared.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def run_fanlog(root: Path, steps: int, names: list[str]) -> float:
    from fanlog_tensorboard import TensorBoardLogger

    logger = TensorBoardLogger(save_dir=root, name="fanlog", default_hp_metric=False)
    logger.log_metrics(dict.fromkeys(names, 0.0), 0)  # start the writer outside the timing
    start = time.perf_counter()
    for step in range(1, steps + 1):
        logger.log_metrics({name: step * 0.001 + i for i, name in enumerate(names)}, step)
    logger.finalize("success")
    return time.perf_counter() - start


def run_raw(root: Path, steps: int, names: list[str]) -> float:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(root / "raw"))
    for name in names:
        writer.add_scalar(name, 0.0, 0)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        for i, name in enumerate(names):
            writer.add_scalar(name, step * 0.001 + i, step)
    writer.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    names = [f"metric_{i}" for i in range(args.metrics)]
    scalars = args.steps * args.metrics
    times: dict[str, list[float]] = {"fanlog": [], "raw": []}
    for _ in range(args.repeats):
        for kind, run in (("fanlog", run_fanlog), ("raw", run_raw)):
            with tempfile.TemporaryDirectory() as tmp:
                times[kind].append(run(Path(tmp), args.steps, names))
    rate = {kind: scalars / statistics.median(t) for kind, t in times.items()}
    for kind, t in times.items():
        print(f"{kind:>6}: {rate[kind]:>10,.0f} scalars/s  (runs: "
              + ", ".join(f"{x:.2f} s" for x in t) + ")")
    print(f"ratio fanlog/raw: {rate['fanlog'] / rate['raw']:.1f}x "
          f"({args.steps} steps x {args.metrics} metrics)")


if __name__ == "__main__":
    main()
