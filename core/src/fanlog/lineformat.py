"""How MMEngine writes a text-log line: the padded ``Epoch(train) [e][i/n]`` header, the
learning rates in e-notation, ``eta``/``time``/``data_time``, ``memory`` on CUDA, then the
metrics with ``num_digits`` decimals."""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable


def header(stage: str, by_epoch: bool, count: int, total: int | None, epoch: int = 0,
           max_epochs: int | None = None) -> str:
    """``Epoch(train) [1][ 5/25]`` (``[e]`` right-aligned to ``max_epochs``' width when a
    fit knows it; test: no epoch), or ``Iter(train) [  10/1000]``."""
    where = f"[{_aligned(count, total)}/{'?' if total is None else total}]"
    if not by_epoch:
        return f"Iter({stage}) {where}"
    if stage == "test":
        return f"Epoch(test) {where}"
    mark = f"[{epoch}]"
    if max_epochs is not None:
        mark = mark.rjust(len(str(max_epochs)) + 3)
    return f"Epoch({stage}){mark}{where}"


def _aligned(count: int, total: int | None) -> str:
    return str(count) if total is None else str(count).rjust(len(str(total)))


def iteration_line(where: str, tag: dict[str, float], eta: float | None,
                   memory: int | None, with_metrics: bool,
                   number: Callable[[float], str], digits: int) -> str:
    """MMEngine's ``get_log_after_iter`` layout: header, learning rates (every field
    ending in ``lr``), ETA and times, memory, then the metrics (training lines only).
    ``tag`` is consumed."""
    rates = " ".join(f"{k}: {tag.pop(k):.{digits}e}" for k in [k for k in tag
                                                                if k.endswith("lr")])
    line = f"{where}  {rates}  "
    if eta is not None and "time" in tag and "data_time" in tag:
        line += (f"eta: {datetime.timedelta(seconds=int(eta))}  "
                 f"time: {tag.pop('time'):.{digits}f}  "
                 f"data_time: {tag.pop('data_time'):.{digits}f}  ")
    if memory is not None:
        line += f"memory: {memory}  "
    if with_metrics:
        line += "  ".join(f"{k}: {number(v)}" for k, v in tag.items())
    return line


def number(value: float, digits: int, readable: bool = False) -> str:
    """``value`` with ``digits`` decimals (MMEngine); ``readable``: e-notation for very
    small and very large magnitudes."""
    if not readable or not math.isfinite(value) or value == 0 or (
            10 ** -digits <= abs(value) < 1e6):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}e}"
