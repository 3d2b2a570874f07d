"""fanlog's conformance kit on the TensorBoard backend, read back with TensorBoard's own
``EventAccumulator`` (keeping every event)."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tensorboard  # noqa: F401  (collected first, as the SDK wants)
from fanlog_tensorboard import TensorBoardLogger
from tensorboard.plugins.hparams import metadata

from fanlog import Status
from fanlog.testing import BackendConformance, Readback

TEXT_SUFFIX = "/text_summary"  # torch's add_text writes tag "<key>/text_summary"
ARTIFACT_PREFIX = "artifacts/"  # where the backend notes an artifact's path, as text


def _plugin_content(acc: Any, plugin: str) -> dict[str, bytes]:
    """A plugin's records by tag ({} when the run holds none: the reader raises KeyError)."""
    try:
        return acc.PluginTagToContent(plugin)
    except KeyError:
        return {}


def _hparams(acc: Any) -> dict[str, Any] | None:
    """The values of the HParams plugin's session-start record (None: none written)."""
    content = _plugin_content(acc, "hparams")
    if metadata.SESSION_START_INFO_TAG not in content:
        return None
    start = metadata.parse_session_start_info_plugin_data(
        content[metadata.SESSION_START_INFO_TAG])
    return {name: getattr(value, value.WhichOneof("kind"))
            for name, value in start.hparams.items()}


def read_tensorboard(read_run: Callable[[str], Any], backend: TensorBoardLogger) -> Readback:
    acc = read_run(backend.log_dir)
    tags = acc.Tags()
    read = Readback(params=_hparams(acc))
    for tag in tags["scalars"]:
        read.metrics[tag] = [(e.step, e.value) for e in acc.Scalars(tag)]
    for tag in _plugin_content(acc, "text"):
        key = tag.removesuffix(TEXT_SUFFIX)
        events = acc.Tensors(tag)
        if key.startswith(ARTIFACT_PREFIX):
            read.artifacts += [key.removeprefix(ARTIFACT_PREFIX)] * len(events)
        else:
            read.texts[key] = [(e.step, e.tensor_proto.string_val[0].decode()) for e in events]
    for tag in tags["images"]:
        events = acc.Images(tag)
        read.images[tag] = [(e.step, (e.height, e.width)) for e in events]
        read.figures[tag] = [e.step for e in events]  # a figure is stored as a PNG image
    for tag in tags["histograms"]:
        read.histograms[tag] = [e.step for e in acc.Histograms(tag)]
    for tag in tags["audio"]:
        read.audio[tag] = [e.step for e in acc.Audio(tag)]
    # The end status is kept only with hyperparameters, and the HParams plugin has no
    # "interrupted" (it shows as a failure): records_status stays False.
    return read


class TestTensorBoardConformance(BackendConformance):
    name = "tensorboard"
    rel_tolerance = 1e-7  # scalars are stored as float32
    params_numbers_as_float = True  # the HParams plugin keeps every number as a float

    @pytest.fixture
    def make_backend(self, tmp_path: Path) -> Callable[..., TensorBoardLogger]:
        # flush_secs: the writer's own thread never flushes mid-test; what is read back was
        # made durable by save/finalize
        return lambda **options: TensorBoardLogger(save_dir=tmp_path / "logs", flush_secs=3600,
                                                   **options)

    @pytest.fixture
    def read_back(self, read_run: Callable[[str], Any]) -> Callable[[Any], Readback]:
        return lambda backend: read_tensorboard(read_run, backend)

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
