"""fanlog's conformance kit on the comet backend, read back from its offline archives (each
record checked with comet_ml's own schemas by comet_support.read_archive)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import comet_ml  # noqa: F401  (collected first, as the SDK wants)
import pytest
from fanlog_comet import CometLogger
from fanlog_comet.logger import metric_name

from fanlog.testing import BackendConformance, Readback
from tests.plugins.comet.comet_support import archives, read_archive


def read_comet(directory: Path, key: str) -> Readback:
    """Every archive of experiment ``key`` (a resumed run writes one per start), oldest
    first, as one Readback: uploaded, they are one Comet experiment."""
    from PIL import Image

    parts = [a for a in map(read_archive, archives(directory))
             if a.experiment["offline_id"] == key]
    assert parts, f"no archive of experiment {key!r} in {directory}"
    read = Readback(params={})
    for archive in parts:
        read.params.update({name.replace("|", "/"): v for name, v in archive.params().items()})
        for name, points in archive.metrics().items():
            read.metrics.setdefault(name, []).extend(points)
        for payload, data in archive.uploads("text-sample"):
            read.texts.setdefault(payload["metadata"]["key"], []).append(
                (payload["additional_params"]["step"], data.decode()))
        for payload, data in archive.uploads("visualization"):
            extra = payload["additional_params"]
            if extra.get("extension") == "svg":
                read.figures.setdefault(extra["figName"], []).append(extra["step"])
            else:
                width, height = Image.open(io.BytesIO(data)).size
                read.images.setdefault(extra["figName"], []).append(
                    (extra["step"], (height, width)))
        for kind, media in (("histogram3d", read.histograms), ("audio", read.audio)):
            for payload, _ in archive.uploads(kind):
                extra = payload["additional_params"]
                media.setdefault(extra["fileName"].removesuffix(".wav"), []).append(
                    extra["step"])
        read.artifacts += [p["additional_params"]["fileName"]
                           for kind in ("asset", "model-element")
                           for p, _ in archive.uploads(kind)]
        read.status = archive.others().get("status", read.status)
    return read


class TestCometConformance(BackendConformance):
    name = "comet"
    records_status = True  # the experiment's "status" other value
    secret_options = {"api_key": "fanlogConformanceSecretKey42"}
    output_subdir = "comet"
    concurrent_runs = False  # comet_ml keeps one live experiment per process

    def stored_name(self, name: str) -> str:
        return metric_name(name)  # a newline, which Comet's schema refuses, is escaped

    @pytest.fixture
    def make_backend(self, tmp_path: Path) -> Callable[..., CometLogger]:
        # log_model="all": the kit's checkpoint is stored when it comes (False ignores them)
        return lambda **options: CometLogger(offline=True, offline_directory=tmp_path / "comet",
                                             log_model="all", **options)

    @pytest.fixture
    def read_back(self, tmp_path: Path) -> Callable[[CometLogger], Readback]:
        return lambda backend: read_comet(tmp_path / "comet",
                                          backend.state_dict()["experiment_key"])
