"""Test support for the neptune backend: the network blocked, a private $HOME and data folder,
and a reader for neptune's offline store that replays it with neptune's own code.

Neptune 1.x has no public offline reader. The reader does what `neptune sync` does (its
DiskQueue with ``Operation.from_dict``, batch by batch) but executes the operations on
neptune's in-memory backend (``NeptuneBackendMock``, what debug mode uses) instead of the
server, then reads values back with that backend's getters. The mock keeps series values
without their steps, so steps come from the replayed operations themselves. neptune is
imported only inside the reader, so conftest can use this module without it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fanlog.testing.network import blocked_network  # noqa: F401  (re-exported)


@contextlib.contextmanager
def private_home(root: Path) -> Iterator[Path]:
    """$HOME is ``root/home`` and neptune's data folder ``root/neptune-data``; no NEPTUNE_*
    setting of the developer's environment (mode, token, project) leaks in."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("NEPTUNE_")]:
            mp.delenv(key)
        mp.setenv("HOME", str(home))
        mp.setenv("MPLCONFIGDIR", str(root / "mplconfig"))
        mp.setenv("NEPTUNE_DATA_DIRECTORY", str(root / "neptune-data"))
        yield home


@dataclass
class Replay:
    """One offline run, replayed into neptune's in-memory backend."""

    operations: list[Any]
    backend: Any
    run_id: str
    directory: Path

    def _of(self, kind: str, path: str) -> list[Any]:
        parts = path.split("/")
        return [op for op in self.operations if type(op).__name__ == kind and op.path == parts]

    def paths(self) -> dict[str, str]:
        """Every attribute's path and neptune type (the mock's ``get_attributes``)."""
        from neptune.internal.container_type import ContainerType

        return {a.path: a.type.value
                for a in self.backend.get_attributes(self.run_id, ContainerType.RUN)}

    def value(self, path: str) -> Any:
        """An atom (float, int, bool or string) through the mock's typed getters."""
        from neptune.internal.container_type import ContainerType

        getter = {"float": "get_float_attribute", "int": "get_int_attribute",
                  "bool": "get_bool_attribute", "string": "get_string_attribute"}[
            self.paths()[path]]
        return getattr(self.backend, getter)(self.run_id, ContainerType.RUN,
                                             path.split("/")).value

    def namespace(self, path: str) -> dict[str, Any]:
        """Every atom under ``path``, by relative path."""
        start = path + "/"
        return {p[len(start):]: self.value(p) for p, kind in self.paths().items()
                if p.startswith(start) and kind in ("float", "int", "bool", "string")}

    def floats(self, path: str) -> list[tuple[int, float]]:
        """(step, value) of a float series: values through the mock's getter, steps from
        the replayed operations (the mock drops them)."""
        from neptune.internal.container_type import ContainerType

        stored = self.backend.get_float_series_values(
            self.run_id, ContainerType.RUN, path.split("/"), 0, 10**9)
        steps = [v.step for op in self._of("LogFloats", path) for v in op.values]
        values = [point.value for point in stored.values]
        assert len(steps) == len(values) == stored.totalItemCount
        return list(zip(steps, values, strict=True))

    def strings(self, path: str) -> list[tuple[int, str]]:
        from neptune.internal.container_type import ContainerType

        stored = self.backend.get_string_series_values(
            self.run_id, ContainerType.RUN, path.split("/"), 0, 10**9)
        steps = [v.step for op in self._of("LogStrings", path) for v in op.values]
        return list(zip(steps, [p.value for p in stored.values], strict=True))

    def images(self, path: str) -> list[tuple[int, bytes]]:
        """(step, PNG bytes) of an image series, from the replayed operations (the mock has
        no getter for image series content)."""
        import base64

        assert self.paths()[path] == "imageSeries"
        return [(v.step, base64.b64decode(v.value.data))
                for op in self._of("LogImages", path) for v in op.values]

    def file(self, path: str) -> bytes:
        """A File attribute's content, through the mock's ``download_file``."""
        from neptune.internal.container_type import ContainerType

        target = self.directory / "downloads" / path.replace("/", "__")
        target.parent.mkdir(exist_ok=True)
        self.backend.download_file(self.run_id, ContainerType.RUN, path.split("/"), str(target))
        return target.read_bytes()

    def file_set(self, path: str) -> dict[str, bytes]:
        """A FileSet's files, through the mock's ``download_file_set`` (a zip)."""
        from neptune.internal.container_type import ContainerType

        target = self.directory / "downloads" / (path.replace("/", "__") + ".zip")
        target.parent.mkdir(exist_ok=True)
        self.backend.download_file_set(self.run_id, ContainerType.RUN, path.split("/"),
                                       str(target))
        with zipfile.ZipFile(target) as zf:
            return {name: zf.read(name) for name in zf.namelist() if not name.endswith("/")}


def offline_runs(data_dir: Path) -> list[Path]:
    return sorted((Path(data_dir) / "offline").glob("run__*"), key=lambda p: p.stat().st_mtime)


def replay(run_dir: Path, workdir: Path) -> Replay:
    """Read ``run_dir`` as `neptune sync` does and execute it on the in-memory backend."""
    from neptune.core.components.operation_storage import OperationStorage
    from neptune.core.components.queue.disk_queue import DiskQueue
    from neptune.internal.backends.neptune_backend_mock import NeptuneBackendMock
    from neptune.internal.container_type import ContainerType
    from neptune.internal.operation import Operation

    operations = []
    with DiskQueue(data_path=run_dir, to_dict=lambda op: op.to_dict(),
                   from_dict=Operation.from_dict, lock=threading.RLock()) as queue:
        while batch := queue.get_batch(1000):
            operations.extend(element.obj for element in batch)
    backend = NeptuneBackendMock()
    run = backend.create_run(backend.get_project("offline/project").id)
    done, errors = backend.execute_operations(run.id, ContainerType.RUN, operations,
                                              OperationStorage(run_dir))
    assert (done, errors) == (len(operations), []), errors
    workdir.mkdir(parents=True, exist_ok=True)
    return Replay(operations, backend, run.id, workdir)


def only_run(data_dir: Path, workdir: Path) -> Replay:
    found = offline_runs(data_dir)
    assert len(found) == 1, f"expected one offline run in {data_dir}, found {found}"
    return replay(found[0], workdir)
