"""What every case shares: the one workload (a tiny MLP on fixed random data), statistics
over repeats, interleaved repeats, and a private, offline environment.

Absolute times on a shared 2-core machine are noise; ratios between systems measured in
the same process, interleaved (A, B, C, A, B, C, ...), are what the suite reports.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

METRICS = 10  # metrics logged per step unless a case says otherwise
BATCH, FEATURES, HIDDEN = 64, 32, 64

# Keeps SDKs offline and out of $HOME (BACKENDS-OFFLINE.md); HOME itself is set per run.
OFFLINE_ENV = {
    "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_ERROR_REPORTING": "false",
    "WANDB_DISABLE_GIT": "true", "WANDB_DISABLE_CODE": "true", "WANDB_CONSOLE": "off",
    "WANDB_X_DISABLE_STATS": "true", "WANDB_X_DISABLE_META": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "COMET_ERROR_TRACKING_ENABLE": "false", "COMET_DISABLE_AUTO_LOGGING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1",
}


def private_env(root: Path) -> dict[str, str]:
    """The environment for a benchmark process: offline SDK settings, HOME and every SDK
    folder under ``root``, no fanlog configuration from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANLOG_")}
    env.update(OFFLINE_ENV)
    for var, sub in (("HOME", "home"), ("MPLCONFIGDIR", "mpl"), ("WANDB_DIR", "wandb"),
                     ("WANDB_CONFIG_DIR", "wandb-config"), ("WANDB_CACHE_DIR", "wandb-cache"),
                     ("WANDB_DATA_DIR", "wandb-data"), ("WANDB_ARTIFACT_DIR", "wandb-art"),
                     ("NEPTUNE_DATA_DIRECTORY", "neptune")):
        (root / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(root / sub)
    return env


# -- the workload -----------------------------------------------------------------------------
def model() -> Any:
    """The tiny model every case trains: an MLP 32-64-1."""
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(FEATURES, HIDDEN), torch.nn.ReLU(),
                               torch.nn.Linear(HIDDEN, 1))


def dataset(steps: int) -> Any:
    """``steps`` batches of 64 fixed random inputs (target: their sum)."""
    import torch
    from torch.utils.data import TensorDataset

    g = torch.Generator().manual_seed(0)
    x = torch.randn(steps * BATCH, FEATURES, generator=g)
    return TensorDataset(x, x.sum(dim=1, keepdim=True))


def loader(steps: int) -> Any:
    from torch.utils.data import DataLoader

    return DataLoader(dataset(steps), batch_size=BATCH)


def metric_values(loss: Any, n: int = METRICS, as_float: bool = False) -> list[Any]:
    """The values logged per step: the loss times 1..n (tensors, or Python floats)."""
    detached = loss.detach()
    if as_float:
        base = float(detached)
        return [base * (i + 1) for i in range(n)]
    return [detached * (i + 1) for i in range(n)]


# -- statistics -------------------------------------------------------------------------------
def stats(values: Sequence[float]) -> dict[str, float]:
    """Median and range of repeated measurements."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def interleaved(runs: Mapping[str, Callable[[], Any]], repeats: int,
                warmup: bool = True) -> dict[str, list[Any]]:
    """Run every system once per round, ``repeats`` rounds, so that slow phases of a shared
    machine hit all of them alike; one unmeasured warm-up round first (imports, caches)."""
    if warmup:
        for fn in runs.values():
            fn()
    out: dict[str, list[Any]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            out[name].append(fn())
    return out


def timer_overhead() -> float:
    """Seconds that one ``perf_counter()`` pair adds to a measured interval (median)."""
    samples = []
    for _ in range(2001):
        start = time.perf_counter()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def target(what: str, value: float, limit: float, unit: str = "x",
           higher_is_better: bool = False) -> dict[str, Any]:
    """One target: ``value`` against ``limit`` (at most, or at least when higher is better)."""
    met = value >= limit if higher_is_better else value <= limit
    return {"what": what, "value": value, "limit": limit, "unit": unit,
            "op": ">=" if higher_is_better else "<=", "met": bool(met)}


# -- quiet, isolated runs ---------------------------------------------------------------------
@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No console output and no warnings from the systems under test (stdout goes to
    /dev/null: writing it is part of the console backend's cost, as with a real terminal
    it would be more)."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), \
            contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def silence_lightning() -> None:
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def tmpdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fanlog-bench-") as tmp:
        yield Path(tmp)


def available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def rss_mb() -> float:
    """Resident memory of this process now, in MiB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """The high-water mark of resident memory of this process, in MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")
