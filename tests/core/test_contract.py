"""The hook contract itself, and the helpers backends share."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from fanlog import Status
from fanlog.hookspecs import CALLBACK_HOOKS, LOGGER_HOOKS, CallbackSpec, LoggerSpec
from fanlog.media import to_hwc_uint8
from fanlog.params import flatten
from fanlog.plugins import capabilities_of
from fanlog.testing import RecordingLogger


@pytest.mark.parametrize("hook", LOGGER_HOOKS + CALLBACK_HOOKS)
def test_every_hook_has_a_docstring_spec(hook):
    spec = LoggerSpec if hook in LOGGER_HOOKS else CallbackSpec
    doc = inspect.getdoc(getattr(spec, hook))
    assert doc and len(doc) > 20


def test_the_issue_hooks_are_all_specified():
    assert set(LOGGER_HOOKS) >= {
        "log_hyperparams", "log_metrics", "log_text", "log_image", "log_histogram",
        "log_audio", "log_figure", "log_graph", "log_artifact", "watch", "save", "finalize"}
    assert inspect.signature(LoggerSpec.log_metrics).parameters.keys() == {
        "self", "metrics", "step"}


def test_recording_logger_implements_every_hook():
    assert capabilities_of(RecordingLogger) == LOGGER_HOOKS


def test_capabilities_ignore_properties_and_do_not_run_them():
    class Lazy:
        @property
        def log_text(self):
            raise AssertionError("property was run")

        def log_metrics(self, metrics, step):
            pass

    assert capabilities_of(Lazy()) == ("log_metrics",)


def test_status_from_exception():
    assert Status.from_exception(None) is Status.SUCCESS
    assert Status.from_exception(ValueError()) is Status.FAILED
    assert Status.from_exception(KeyboardInterrupt()) is Status.INTERRUPTED
    assert Status("failed") == "failed"


def test_flatten():
    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": {}, "f": [1]}) == {
        "a/b": 1, "a/c/d": 2, "e": {}, "f": [1]}
    assert flatten({"a": {"b": 1}}, sep=".") == {"a.b": 1}


@pytest.mark.parametrize(("shape", "fmt", "out"), [
    ((4, 5), "HW", (4, 5, 1)), ((3, 4, 5), "CHW", (4, 5, 3)), ((4, 5, 1), "HWC", (4, 5, 1)),
    ((4, 3, 2, 2), "NCHW", (6, 6, 3)), ((5, 2, 2, 4), "NHWC", (6, 10, 4))])
def test_to_hwc_uint8_layouts(shape, fmt, out):
    image = to_hwc_uint8(np.ones(shape, dtype=np.float32), fmt)
    assert image.shape == out and image.dtype == np.uint8


def test_to_hwc_uint8_values():
    floats = np.array([[0.0, 0.5, 1.0, 2.0, -1.0]], dtype=np.float32)
    assert to_hwc_uint8(floats, "HW")[..., 0].tolist() == [[0, 128, 255, 255, 0]]
    ints = np.array([[0, 17, 255]], dtype=np.int64)
    assert to_hwc_uint8(ints, "HW")[..., 0].tolist() == [[0, 17, 255]]
    grid = to_hwc_uint8(np.stack([np.full((1, 2, 2), v, np.uint8) for v in (10, 20)]), "NCHW")
    assert grid[0, 0, 0] == 10 and grid[0, 4, 0] == 20 and grid[0, 2, 0] == 0
