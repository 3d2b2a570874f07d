"""The highest step a resumed W&B run already holds.

A fit that crashed after its last checkpoint left steps past the checkpoint's step in the
run, and the resumed fit logs them again. Online, wandb gives the resumed run the server's
summary, whose step metric is the last step stored. Offline, wandb 0.31 tells nothing (the
resumed run has ``resumed`` False and an empty summary), so the run's earlier segments are
read from their transaction logs (``<wandb dir>/*/run-<id>.wandb``), the files ``wandb sync``
uploads: a LevelDB-format log of wandb protobuf records, for which wandb ships no Python
reader (``wandb leet inspect`` reads it from the command line).
"""

from __future__ import annotations

import json
import math
import struct
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_FILE_HEADER = struct.Struct("<4sHB")  # ":W&B", magic 0xBEE1, version 0
_CHUNK_HEADER = struct.Struct("<IHB")  # crc32 of kind + data, data length, kind
_BLOCK = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def summary_step(run: Any, step_metric: str) -> int | None:
    """The step metric's value in the run's summary (an online resume fills it)."""
    value = run.summary.get(step_metric)
    if hasattr(value, "get"):  # a metric defined with summary="max" / "last" elsewhere
        value = value.get("max", value.get("last"))
    return _step(value)


def logged_step(run: Any, step_metric: str) -> int | None:
    """The highest step in the history of this run's other segments on this machine."""
    own = Path(run.settings.sync_file).resolve()
    name = f"run-{run.id}.wandb"
    logs = {p.resolve() for p in Path(run.settings.wandb_dir).glob("*/run-*.wandb")
            if p.name == name} - {own}
    steps = [step for log in sorted(logs) for step in _history_steps(log, step_metric)]
    return max(steps, default=None)


def _history_steps(log: Path, step_metric: str) -> Iterator[int]:
    from wandb.proto import wandb_internal_pb2

    record = wandb_internal_pb2.Record()
    try:
        for data in _records(log.read_bytes()):
            record.ParseFromString(data)
            if record.WhichOneof("record_type") != "history":
                continue
            for item in record.history.item:
                if item.key == step_metric or list(item.nested_key) == [step_metric]:
                    step = _step(json.loads(item.value_json))
                    if step is not None:
                        yield step
    except (OSError, ValueError) as exc:  # a protobuf DecodeError is a ValueError
        warnings.warn(f"fanlog wandb: cannot read {log} ({exc}); steps it holds past the "
                      f"checkpoint may be stored twice", RuntimeWarning, stacklevel=2)


def _records(data: bytes) -> Iterator[bytes]:
    """The records of a transaction log, up to the first incomplete or damaged chunk (an
    interrupted run's log ends in one)."""
    if len(data) < _FILE_HEADER.size:  # created, nothing written yet
        return
    if _FILE_HEADER.unpack_from(data) != (b":W&B", 0xBEE1, 0):
        raise ValueError(f"not a wandb 0.x transaction log (header {data[:7]!r})")
    pos, parts = _FILE_HEADER.size, []
    while True:
        if _BLOCK - pos % _BLOCK < _CHUNK_HEADER.size:  # a block's tail is padding
            pos += _BLOCK - pos % _BLOCK
        if pos + _CHUNK_HEADER.size > len(data):
            return
        crc, length, kind = _CHUNK_HEADER.unpack_from(data, pos)
        pos += _CHUNK_HEADER.size
        chunk = data[pos:pos + length]
        pos += length
        if len(chunk) < length or zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            return
        if kind in (_FULL, _FIRST):
            parts = [chunk]
        elif kind in (_MIDDLE, _LAST) and parts:
            parts.append(chunk)
        else:
            return
        if kind in (_FULL, _LAST):
            yield b"".join(parts)
            parts = []


def _step(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)
