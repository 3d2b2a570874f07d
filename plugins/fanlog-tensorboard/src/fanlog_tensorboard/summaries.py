"""Summary protos built directly, where torch's ``add_*`` helpers cost more or do less.

Imported only on the worker when a run starts (it imports tensorboard), never at plugin load.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from PIL import Image
from tensorboard.compat.proto.event_pb2 import Event, SessionLog
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

from fanlog.media import to_wav_bytes

# The plugin has no "aborted" status: an interrupted run shows as a failure.
_STATUS = {
    "success": api_pb2.STATUS_SUCCESS,
    "failed": api_pb2.STATUS_FAILURE,
    "interrupted": api_pb2.STATUS_FAILURE,
}
_COLORSPACE = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}


def scalars(tags: Iterable[str], values: Iterable[float]) -> Summary:
    """All scalars of one step in one Summary: one event instead of one per metric (the same
    ``simple_value`` records ``add_scalar`` writes, at a sixteenth of the cost)."""
    return Summary(value=[
        Summary.Value(tag=tag, simple_value=value)
        for tag, value in zip(tags, values, strict=True)
    ])


def session_log_start(step: int) -> Event:
    """A session-start marker. TensorBoard's Python loader (``--load_fast=false``) takes the
    first START of a run as its beginning and drops every event at or after the step of each
    later one, so a new run opens with one at step 0 and a resumed one adds its own at its
    ``purge_step`` (after torch's): the resume purges even a run whose first session wrote
    none."""
    return Event(step=step, wall_time=time.time(),
                 session_log=SessionLog(status=SessionLog.START))


def image(tag: str, hwc: np.ndarray) -> Summary:
    """A PNG image summary from an HWC uint8 array (C = 1, 3 or 4)."""
    channels = hwc.shape[2]
    pil = Image.fromarray(hwc[:, :, 0] if channels == 1 else hwc)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return _image(tag, buf.getvalue(), pil.height, pil.width, channels)


def png(tag: str, encoded: bytes) -> Summary:
    """An image summary from PNG bytes (a rendered figure)."""
    with Image.open(io.BytesIO(encoded)) as pil:  # reads the header only
        height, width, channels = pil.height, pil.width, _COLORSPACE.get(pil.mode, 4)
    return _image(tag, encoded, height, width, channels)


def _image(tag: str, encoded: bytes, height: int, width: int, channels: int) -> Summary:
    img = Summary.Image(height=height, width=width, colorspace=channels,
                        encoded_image_string=encoded)
    return Summary(value=[Summary.Value(tag=tag, image=img)])


def audio(tag: str, clip: np.ndarray, sample_rate: int) -> Summary:
    """A 16-bit PCM WAV summary; ``clip`` is (samples,) or (channels, samples) in -1..1.

    torch's ``add_audio`` takes mono only; this keeps every channel.
    """
    channels, frames = np.atleast_2d(np.asarray(clip)).shape
    snd = Summary.Audio(sample_rate=float(sample_rate), num_channels=channels,
                        length_frames=frames, encoded_audio_string=to_wav_bytes(clip, sample_rate),
                        content_type="audio/wav")
    return Summary(value=[Summary.Value(tag=tag, audio=snd)])


def session_start(hparams: Mapping[str, bool | int | float | str]) -> Summary:
    """The hparams plugin's record of this run's values."""
    info = plugin_data_pb2.SessionStartInfo(start_time_secs=time.time())
    for name, value in hparams.items():
        if isinstance(value, bool):
            info.hparams[name].bool_value = value
        elif isinstance(value, int | float):
            info.hparams[name].number_value = value
        else:
            info.hparams[name].string_value = value
    return _hparams(metadata.SESSION_START_INFO_TAG,
                    plugin_data_pb2.HParamsPluginData(session_start_info=info))


def experiment(hparams: Mapping[str, Any], metric_tags: Iterable[str]) -> Summary:
    """The hparams plugin's table definition: one column per hparam and per logged metric."""
    exp = api_pb2.Experiment(
        time_created_secs=time.time(),
        hparam_infos=[api_pb2.HParamInfo(name=name, type=_data_type(value))
                      for name, value in hparams.items()],
        metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag))
                      for tag in metric_tags],
    )
    return _hparams(metadata.EXPERIMENT_TAG, plugin_data_pb2.HParamsPluginData(experiment=exp))


def session_end(status: Any) -> Summary:
    """How the run ended (a :class:`fanlog.Status` or its value), as the hparams plugin
    shows it."""
    value = getattr(status, "value", status)
    info = plugin_data_pb2.SessionEndInfo(
        status=_STATUS.get(value, api_pb2.STATUS_UNKNOWN), end_time_secs=time.time())
    return _hparams(metadata.SESSION_END_INFO_TAG,
                    plugin_data_pb2.HParamsPluginData(session_end_info=info))


def _hparams(tag: str, data: plugin_data_pb2.HParamsPluginData) -> Summary:
    """As tensorboard's own ``hparams_pb`` writes it, without needing TensorFlow."""
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(data),
                                        tensor=metadata.NULL_TENSOR)])


def _data_type(value: Any) -> int:
    if isinstance(value, bool):
        return api_pb2.DATA_TYPE_BOOL
    if isinstance(value, int | float):
        return api_pb2.DATA_TYPE_FLOAT64
    return api_pb2.DATA_TYPE_STRING
