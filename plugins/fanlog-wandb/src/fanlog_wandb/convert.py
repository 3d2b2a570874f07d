"""fanlog's plain values -> W&B media objects. Called on the worker thread, where wandb is
already imported (it is passed in, so importing this module never imports wandb)."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np

from fanlog.media import to_hwc_uint8

#: W&B's limit on histogram bins (wandb.Histogram refuses more).
MAX_BINS = 512
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def image(wandb: ModuleType, array: np.ndarray, dataformats: str) -> Any:
    """One wandb.Image, or a list of them for a batch (W&B shows a list as a gallery, so a
    batch keeps its items instead of becoming one grid)."""
    if dataformats.startswith("N"):
        return [wandb.Image(_hwc(item, dataformats[1:])) for item in array]
    return wandb.Image(_hwc(array, dataformats))


def _hwc(array: np.ndarray, dataformats: str) -> np.ndarray:
    arr = to_hwc_uint8(array, dataformats)
    return arr[:, :, 0] if arr.shape[2] == 1 else arr  # PIL has no (H, W, 1) mode


def histogram(wandb: ModuleType, values: np.ndarray, bins: int) -> Any:
    """Counts of the finite values (NaN/inf cannot be binned), at most 512 bins."""
    finite = values[np.isfinite(values)]
    counts, edges = np.histogram(finite, bins=max(1, min(int(bins), MAX_BINS)))
    return wandb.Histogram(np_histogram=(counts.tolist(), edges.tolist()))


@contextlib.contextmanager
def audio(wandb: ModuleType, clip: np.ndarray, sample_rate: int) -> Iterator[Any]:
    """A wandb.Audio of a 32-bit float WAV, valid inside the ``with`` (wandb copies the file
    when the row is logged). Given an array, wandb would write 16-bit PCM and lose precision.
    fanlog sends (channels, samples); WAV files are (samples, channels)."""
    import soundfile

    with tempfile.TemporaryDirectory(prefix="fanlog-wandb-") as tmp:
        path = os.path.join(tmp, "clip.wav")
        soundfile.write(path, clip.T if clip.ndim == 2 else clip, sample_rate, subtype="FLOAT")
        yield wandb.Audio(path, sample_rate=sample_rate)


def text(wandb: ModuleType, value: str) -> Any:
    """A one-row table: W&B's way to show text samples, one table per step."""
    return wandb.Table(columns=["text"], data=[[value]])


def artifact_name(name: str) -> str:
    """W&B artifact names allow letters, digits, ``-``, ``_`` and ``.`` only."""
    return _NOT_IN_NAME.sub("-", name).strip("-") or "artifact"
