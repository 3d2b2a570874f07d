"""Measure what the W&B backend costs, offline: ``python bench/costs.py [calls]``.

Prints the medians of each cost that the README reports. Everything wandb writes goes to a
temporary folder (HOME included), which is removed at the end.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def offline(root: Path) -> None:
    os.environ.update({
        "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_ERROR_REPORTING": "false",
        "WANDB_DISABLE_GIT": "true", "WANDB_DISABLE_CODE": "true", "WANDB_CONSOLE": "off",
        "WANDB_X_DISABLE_STATS": "true", "WANDB_X_DISABLE_META": "true",
        "WANDB_CONFIG_DIR": str(root / "config"), "WANDB_CACHE_DIR": str(root / "cache"),
        "WANDB_DATA_DIR": str(root / "data"), "HOME": str(root / "home"),
    })


def per_call(fn, calls: int) -> float:
    """Median seconds per call over ``calls`` calls (after one warm-up call)."""
    fn(-1)
    times = []
    for i in range(calls):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(calls: int) -> None:
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        offline(root)
        imported = subprocess.run(
            [sys.executable, "-c", "import time; t = time.perf_counter(); import wandb; "
             "print(time.perf_counter() - t)"], capture_output=True, text=True, check=True)
        print(f"import wandb: {float(imported.stdout):.2f} s")

        from fanlog_wandb import WandbLogger

        from fanlog import FanOut, Status

        logger = WandbLogger(save_dir=root / "direct")
        start = time.perf_counter()
        logger.log_hyperparams({"lr": 0.1})  # starts the run
        print(f"first call (import + wandb.init + define_metric): "
              f"{time.perf_counter() - start:.2f} s")
        metrics = {f"m{i}": 0.5 for i in range(5)}
        rng = np.random.default_rng(0)
        image = rng.integers(0, 256, (3, 64, 64), dtype=np.uint8)
        values = rng.normal(size=10_000)
        clip = rng.uniform(-1, 1, 16_000).astype(np.float32)
        step = [0]

        def at(fn):
            def call(_: int) -> None:
                step[0] += 1
                fn(step[0])
            return call

        costs = {
            "log_metrics, 5 metrics": at(lambda s: logger.log_metrics(metrics, s)),
            "log_image 3x64x64": at(lambda s: logger.log_image("img", image, s, "CHW")),
            "log_histogram 10k values": at(lambda s: logger.log_histogram("h", values, s, 64)),
            "log_audio 1 s at 16 kHz": at(lambda s: logger.log_audio("a", clip, s, 16_000)),
            "log_text (one-row table)": at(lambda s: logger.log_text("t", "a sample", s)),
        }
        for what, fn in costs.items():
            n = calls if what.startswith("log_metrics") else max(10, calls // 20)
            print(f"{what}: {per_call(fn, n) * 1e6:.0f} us per call on the worker")
        start = time.perf_counter()
        logger.finalize(Status.SUCCESS)
        print(f"finalize (finish + teardown): {time.perf_counter() - start:.3f} s")

        fan = FanOut(["wandb"], run_defaults={"save_dir": str(root / "fan")}, summary=False)
        caller = per_call(lambda s: fan.log_metrics(metrics, step=s + 1), calls)
        start = time.perf_counter()
        fan.finalize(Status.SUCCESS)
        print(f"FanOut.log_metrics on the training thread: {caller * 1e6:.1f} us per call; "
              f"finalize with {calls} calls queued: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
