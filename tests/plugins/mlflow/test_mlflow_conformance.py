"""fanlog's conformance kit on the MLflow backend, read back with ``MlflowClient`` from the
session's SQLite store (artifacts downloaded and parsed by the layout the backend writes)."""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

import mlflow  # noqa: F401  (collected first, as the SDK wants)
import numpy as np
import pytest
from fanlog_mlflow import MLFlowLogger
from fanlog_mlflow.logger import RUN_STATUS
from fanlog_mlflow.names import clean_key

from fanlog import Status
from fanlog.testing import BackendConformance, Readback

STATUS_OF = {name: status.value for status, name in RUN_STATUS.items()}
#: MLflow stores infinities as the largest finite doubles
INFINITIES = {float(np.finfo(float).max): np.inf, float(-np.finfo(float).max): -np.inf}
_STEP_FILE = re.compile(r"(.+)/step_(\d+)\.\w+$")


def _keyed(path: str) -> tuple[str, int | None]:
    """``key/step_000012.ext`` -> (key, 12); ``key.ext`` -> (key, None)."""
    match = _STEP_FILE.match(path)
    return (match[1], int(match[2])) if match else (path.rsplit(".", 1)[0], None)


def read_mlflow(backend: MLFlowLogger, folder: Path) -> Readback:
    from mlflow import MlflowClient
    from PIL import Image

    client = MlflowClient(tracking_uri=backend.tracking_uri)
    run = client.get_run(backend.run_id)
    read = Readback(params=dict(run.data.params), status=STATUS_OF[run.info.status])
    for key in run.data.metrics:
        history = sorted(client.get_metric_history(run.info.run_id, key),
                         key=lambda m: (m.step, m.timestamp))
        read.metrics[key] = [(m.step, INFINITIES.get(m.value, m.value)) for m in history]
    local = Path(client.download_artifacts(run.info.run_id, "", str(folder)))
    for file in sorted(p for p in local.rglob("*") if p.is_file()):
        kind, _, rest = file.relative_to(local).as_posix().partition("/")
        if kind == "text":
            key, step = _keyed(rest)
            read.texts.setdefault(key, []).append((step, file.read_text()))
        elif kind == "figures":
            key, step = _keyed(rest)
            read.figures.setdefault(key, []).append(step)
        elif kind == "images" and file.suffix == ".png":  # <key>+step+<n>+timestamp+...
            key, _, step, *_ = rest.split("+")
            with Image.open(file) as image:
                size = image.size[::-1]
            read.images.setdefault(key.replace("~", "/"), []).append((int(step), size))
        elif kind != "images":
            read.artifacts.append(file.relative_to(local).as_posix())
    for steps in (*read.texts.values(), *read.images.values()):
        steps.sort(key=lambda item: item[0] or 0)
    return read


class TestMLflowConformance(BackendConformance):
    name = "mlflow"
    params_as_strings = True
    records_status = True

    def stored_name(self, name: str) -> str:
        return clean_key(name)  # what MLflow refuses is renamed (and warned) by the plugin

    @pytest.fixture
    def make_backend(self, make_logger: Callable[..., MLFlowLogger]) -> Callable[..., Any]:
        # log_model=True: the kit's checkpoint is uploaded at the end (False ignores them)
        return lambda **options: make_logger(log_model=True, **options)

    @pytest.fixture
    def read_back(self, tmp_path: Path) -> Callable[[MLFlowLogger], Readback]:
        folders = count()
        return lambda backend: read_mlflow(backend, tmp_path / f"read-{next(folders)}")

    def test_picklable_while_running(self, make_backend, read_back):
        """A copy pickled mid-run (a checkpoint) continues the same run."""
        backend = make_backend()
        backend.log_metrics({"x": 1.0}, 0)
        clone = pickle.loads(pickle.dumps(backend))
        clone.log_metrics({"x": 2.0}, 1)
        clone.finalize(Status.SUCCESS)
        assert clone.run_id == backend.run_id
        self.assert_metrics(read_back(clone), {"x": [(0, 1.0), (1, 2.0)]})
