"""fanlog's conformance kit on the neptune backend in offline mode, read back by replaying
the offline store with neptune's own code (neptune_support.replay)."""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from pathlib import Path

import neptune  # noqa: F401  (collected first, as the SDK wants)
import pytest
from fanlog_neptune import NeptuneLogger
from fanlog_neptune.logger import AUDIO, FIGURES, IMAGES, NONFINITE, TEXT

from fanlog.status import Status
from fanlog.testing import BackendConformance, Readback
from tests.plugins.neptune.neptune_support import Replay, offline_runs, replay

PREFIX = "training/"


def read_neptune(run: Replay) -> Readback:
    from PIL import Image

    read = Readback(params=run.namespace(PREFIX + "hyperparams"))
    for path, kind in run.paths().items():
        if not path.startswith(PREFIX):
            continue
        group, _, key = path.removeprefix(PREFIX).partition("/")
        if kind == "floatSeries":
            read.metrics.setdefault(path.removeprefix(PREFIX), []).extend(run.floats(path))
        elif group == NONFINITE:
            read.metrics.setdefault(key, []).extend(
                (step, float(text)) for step, text in run.strings(path))
        elif group == TEXT:
            read.texts[key] = run.strings(path)
        elif group in (IMAGES, FIGURES):
            for step, png in run.images(path):
                width, height = Image.open(io.BytesIO(png)).size
                if group == IMAGES:
                    read.images.setdefault(key, []).append((step, (height, width)))
                else:
                    read.figures.setdefault(key, []).append(step)
        elif group == AUDIO:  # audio/<key>/<step>
            clip, step = key.rsplit("/", 1)
            read.audio.setdefault(clip, []).append(int(step))
        elif kind == "file" and path.endswith("/file"):  # .../<name>/file
            name = path.removesuffix("/file").rsplit("/", 1)[-1]
            [upload] = run._of("UploadFile", path)
            read.artifacts.append(f"{name}.{upload.ext}")
    for points in read.metrics.values():
        points.sort(key=lambda point: point[0])  # non-finite values come from their own series
    if PREFIX + "status" in run.paths():
        read.status = run.value(PREFIX + "status")
    return read


class TestNeptuneConformance(BackendConformance):
    name = "neptune"
    records_status = True  # <prefix>/status
    secret_options = {"api_key": "fanlogConformanceSecretToken42"}
    output_subdir = "neptune-data"  # NEPTUNE_DATA_DIRECTORY in these tests

    @pytest.fixture
    def make_backend(self) -> Callable[..., NeptuneLogger]:
        # log_model="all": the kit's checkpoint is stored when it comes (False ignores them)
        return lambda **options: NeptuneLogger(mode="offline", log_model="all", **options)

    @pytest.fixture
    def read_back(self, tmp_path: Path, data_dir: Path) -> Callable[[NeptuneLogger], Readback]:
        def read(backend: NeptuneLogger) -> Readback:
            # The offline folder of this backend's run: neptune names it after the run's
            # container id, which get_url() shows as "offline/<id>".
            container = backend.experiment.get_url().removeprefix("offline/")
            [folder] = [p for p in offline_runs(data_dir) if f"__{container}__" in p.name]
            return read_neptune(replay(folder, tmp_path / "replay" / container))

        return read

    def test_resume_continues_without_duplicates(self, make_backend, read_back, data_dir,
                                                 tmp_path):
        """Overrides the kit's check: neptune cannot continue an offline run (see README),
        so the backend goes on in a new run from the next step: each step once, over two
        runs. The kit's version reads one run and would need both."""
        first = make_backend()
        for step in range(10):
            first.log_metrics({"loss": float(step)}, step)
        state = first.state_dict()
        first.finalize("interrupted")
        second = make_backend()
        second.load_state_dict(state)
        for step in range(8, 15):
            second.log_metrics({"loss": float(step)}, step)
        second.finalize("success")
        assert read_back(first).metrics["loss"] == [(s, float(s)) for s in range(10)]
        assert read_back(second).metrics["loss"] == [(s, float(s)) for s in range(10, 15)]

    def test_resume_after_a_crash_past_the_checkpoint(self, make_backend, read_back):
        """Overrides the kit's check, reading both runs as above: the checkpoint (step 5)
        is older than the crash (after step 9), so the first offline run holds steps 6..9
        when the fit restarts from step 5 and logs 4..12 again. The backend reads that
        run's store and skips what it holds: each step once over the two runs, steps up to
        9 with the first values."""
        first = make_backend()
        for step in range(10):
            first.log_metrics({"loss": float(step)}, step)
            if step == 5:
                state = pickle.loads(pickle.dumps(first.state_dict()))
        first.finalize(Status.FAILED)
        second = make_backend()
        second.load_state_dict(state)
        for step in range(4, 13):
            second.log_metrics({"loss": step + 0.5}, step)
        second.finalize(Status.SUCCESS)
        before, after = read_back(first).metrics["loss"], read_back(second).metrics["loss"]
        assert sorted(s for s, _ in before + after) == list(range(13)), (before, after)
        assert before == [(s, float(s)) for s in range(10)]
        assert after == [(s, s + 0.5) for s in range(10, 13)]
