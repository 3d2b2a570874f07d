"""fanlog's conformance kit on the W&B backend, read back from the offline runs' .wandb logs
with wandb's own reader (``wandb leet inspect``, through the conftest's ``read_runs``)."""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import wandb  # noqa: F401  (collected first, as the SDK wants)
from fanlog_wandb import WandbLogger
from fanlog_wandb.logger import EXIT_CODES

from fanlog import Status
from fanlog.params import flatten
from fanlog.testing import BackendConformance, Readback

STEP = "trainer/global_step"
#: leet writes non-finite floats as these strings
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
STATUS_OF_EXIT_CODE = {code: status.value for status, code in EXIT_CODES.items()}


def _value(value: Any) -> Any:
    return NON_FINITE.get(value, value) if isinstance(value, str) else value


def read_wandb(runs: list[Any], run_id: str) -> Readback:
    """Every segment of run ``run_id`` (a resumed run has one per start), oldest first, as
    one Readback: W&B shows them as one run."""
    segments = [run for run in runs if run.run["run_id"] == run_id]
    assert segments, f"no run {run_id!r} among {[r.run['run_id'] for r in runs]}"
    read = Readback(params={})
    for run in segments:
        read.params.update(flatten(run.config))
        for row in run.history:
            step = row.get(STEP)
            media = {key.removesuffix("._type"): kind for key, kind in row.items()
                     if key.endswith("._type")}
            for key, value in row.items():  # a media value's fields are "<key>.<field>"
                if key != STEP and not any(key.startswith(f"{m}.") for m in media):
                    read.metrics.setdefault(key, []).append((step, float(_value(value))))
            for key, kind in media.items():
                if kind == "table-file":
                    table = json.loads((run.files / row[f"{key}.path"]).read_text())
                    read.texts.setdefault(key, []).append((step, table["data"][0][0]))
                elif kind == "image-file":
                    size = (row[f"{key}.height"], row[f"{key}.width"])
                    read.images.setdefault(key, []).append((step, size))
                    read.figures.setdefault(key, []).append(step)  # a figure is an image
                elif kind == "histogram":
                    read.histograms.setdefault(key, []).append(step)
                elif kind == "audio-file":
                    read.audio.setdefault(key, []).append(step)
        for record in run.of("artifact"):  # "<artifact>/<file>" for each file it holds
            read.artifacts += [f"{record['name']}/{entry['path']}"
                               for entry in record["manifest"]["contents"]]
        read.status = STATUS_OF_EXIT_CODE[run.exit_code]
    for points in read.metrics.values():  # rows are in logging order; W&B plots by step
        points.sort(key=lambda point: point[0])
    return read


class TestWandbConformance(BackendConformance):
    name = "wandb"
    records_status = True  # the exit code of the run's last segment

    @pytest.fixture
    def make_backend(self, tmp_path: Path) -> Callable[..., WandbLogger]:
        # log_model="all": checkpoints (the kit's artifact is one) are stored as they come;
        # by default (False, as in Lightning) they stay on disk
        return lambda **options: WandbLogger(save_dir=tmp_path / "runs", log_model="all",
                                             **options)

    @pytest.fixture
    def read_back(self, tmp_path: Path, read_runs) -> Callable[[WandbLogger], Readback]:
        return lambda backend: read_wandb(read_runs(tmp_path / "runs"), backend.state_dict()["id"])

    def test_picklable_while_running(self, make_backend, read_back):
        """Pickled mid-run (a checkpoint), the copy leaves the live run behind: the original
        goes on logging into it."""
        backend = make_backend()
        backend.log_metrics({"x": 1.0}, 0)
        clone = pickle.loads(pickle.dumps(backend))
        assert type(clone) is type(backend)
        backend.log_metrics({"x": 2.0}, 1)
        backend.finalize(Status.SUCCESS)
        self.assert_metrics(read_back(backend), {"x": [(0, 1.0), (1, 2.0)]})
