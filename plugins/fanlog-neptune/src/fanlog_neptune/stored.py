"""The highest metric step that the earlier run(s) of a resumed fit already hold.

A fit that crashed after its last checkpoint left steps past the checkpoint's step stored,
and the resumed fit logs them again: a server series would refuse them (its steps must
increase) and two offline runs would hold them twice. Online (``with_id``), the server's
series tell their last step (``fetch_last`` gives only the value, ``fetch_values`` pulls the
whole series, so the last point is asked for by index). Offline, neptune 1.x cannot continue
a run and ships no reader for its offline store: the earlier runs' folders are read as
``neptune sync`` reads them (its ``DiskQueue`` with ``Operation.from_dict``), acknowledging
and removing nothing. Both use neptune internals, which is why neptune is pinned exactly.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: Namespaces neptune fills itself (at the run's root): never fanlog metrics.
_NEPTUNE_OWN = frozenset({"sys", "monitoring", "source_code"})


def offline_dir(run: Any) -> str:
    """The folder an offline run's operations go to (``.neptune/offline/run__<id>__...``)."""
    return str(Path(run._op_processor.data_path).resolve())


def offline_step(folders: list[str], prefix: str, nonfinite: str) -> int | None:
    """The highest metric step in these offline runs' stores (float series under
    ``prefix``, and the ``nonfinite`` text series that stand in for NaN/inf values)."""
    steps = [step for folder in folders for step in _offline_steps(Path(folder), prefix,
                                                                     nonfinite)]
    return max(steps, default=None)


def server_step(run: Any, prefix: str, nonfinite: str) -> int | None:
    """The highest metric step the run holds on the server (its series' last points)."""
    from neptune.attributes.series.float_series import FloatSeries
    from neptune.attributes.series.string_series import StringSeries

    steps = []
    for path, attribute in _leaves(run.get_structure(), ""):
        if _is_metric(path, prefix, nonfinite, isinstance(attribute, FloatSeries),
                      isinstance(attribute, StringSeries)):
            total = attribute._fetch_values_from_backend(0, 1).totalItemCount
            if total:
                last = attribute._fetch_values_from_backend(total - 1, 1).values
                steps.extend(int(point.step) for point in last if point.step is not None)
    return max(steps, default=None)


def _leaves(structure: dict[str, Any], base: str) -> Iterator[tuple[str, Any]]:
    for name, node in structure.items():
        path = f"{base}{name}"
        if isinstance(node, dict):
            yield from _leaves(node, path + "/")
        else:
            yield path, node


def _is_metric(path: str, prefix: str, nonfinite: str, floats: bool, strings: bool) -> bool:
    base = f"{prefix}/" if prefix else ""
    if not path.startswith(base):
        return False
    rest = path[len(base):]
    if not prefix and rest.split("/", 1)[0] in _NEPTUNE_OWN:
        return False
    return floats or (strings and rest.startswith(f"{nonfinite}/"))


def _offline_steps(folder: Path, prefix: str, nonfinite: str) -> Iterator[int]:
    from neptune.core.components.queue.disk_queue import DiskQueue
    from neptune.exceptions import MalformedOperation
    from neptune.internal.operation import LogFloats, LogStrings, Operation

    if not any(folder.glob("data-*.log")):  # gone (synced, deleted): DiskQueue would create it
        return
    # Not a `with` block: leaving one removes the files of a queue it finds empty.
    queue = DiskQueue(data_path=folder, to_dict=lambda op: op.to_dict(),
                      from_dict=Operation.from_dict, lock=threading.RLock())
    try:
        while batch := queue.get_batch(1000):
            for element in batch:
                op = element.obj
                if isinstance(op, LogFloats | LogStrings) and _is_metric(
                        "/".join(op.path), prefix, nonfinite, isinstance(op, LogFloats),
                        isinstance(op, LogStrings)):
                    yield from (int(v.step) for v in op.values if v.step is not None)
    except (MalformedOperation, OSError, ValueError) as exc:  # a crashed run's store
        warnings.warn(f"fanlog neptune: cannot read {folder} ({exc!r}); steps it holds past "
                      f"the checkpoint may be stored twice", RuntimeWarning, stacklevel=2)
    finally:
        queue.close()
