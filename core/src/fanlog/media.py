"""Media arrays: what crosses to the workers, and one shared image layout for backends."""

from __future__ import annotations

import io
import math
import wave
from typing import Any

import numpy as np

IMAGE_FORMATS = ("HW", "HWC", "CHW", "NCHW", "NHWC")


def to_numpy(value: Any) -> np.ndarray:
    """A CPU numpy copy of a tensor, array or sequence (the worker must not share memory
    that the training loop keeps writing)."""
    if hasattr(value, "detach"):  # torch.Tensor
        value = value.detach()
        if value.dtype.is_floating_point and value.element_size() < 4:
            value = value.float()  # bfloat16 has no numpy dtype
        return value.cpu().numpy().copy()
    return np.array(value, copy=True)


def check_image(image: np.ndarray, dataformats: str) -> None:
    """Reject a layout that does not match the array before it reaches any backend."""
    if dataformats not in IMAGE_FORMATS:
        raise ValueError(f"dataformats must be one of {IMAGE_FORMATS}, got {dataformats!r}")
    if image.ndim != len(dataformats):
        raise ValueError(
            f"image has {image.ndim} dimensions but dataformats {dataformats!r} needs "
            f"{len(dataformats)}"
        )
    if "C" in dataformats and image.shape[dataformats.index("C")] not in (1, 3, 4):
        raise ValueError(f"image channels must be 1, 3 or 4; shape {image.shape} ({dataformats})")


def to_hwc_uint8(image: np.ndarray, dataformats: str) -> np.ndarray:
    """One HWC uint8 image (C = 1, 3 or 4) from any supported layout; a batch becomes a grid.

    Floats are taken as 0..1 and clipped; integers as 0..255.
    """
    check_image(image, dataformats)
    arr = np.asarray(image)
    if dataformats == "HW":
        arr = arr[:, :, None]
    elif dataformats == "CHW":
        arr = arr.transpose(1, 2, 0)
    elif dataformats == "NCHW":
        arr = _grid(arr.transpose(0, 2, 3, 1))
    elif dataformats == "NHWC":
        arr = _grid(arr)
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating):
            arr = np.clip(np.nan_to_num(arr) * 255.0 + 0.5, 0, 255)
        else:
            arr = np.clip(arr, 0, 255)
        arr = arr.astype(np.uint8)
    return np.ascontiguousarray(arr)


def _grid(batch: np.ndarray, pad: int = 2) -> np.ndarray:
    """Tile an NHWC batch into a near-square grid with ``pad`` pixels between images."""
    n, h, w, c = batch.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * (h + pad) - pad, cols * (w + pad) - pad, c), dtype=batch.dtype)
    for i in range(n):
        r, col = divmod(i, cols)
        grid[r * (h + pad): r * (h + pad) + h, col * (w + pad): col * (w + pad) + w] = batch[i]
    return grid


def to_wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """A 16-bit PCM WAV file of ``audio`` (-1..1, shape (samples,) or (channels, samples)),
    made with the standard library, for backends whose SDK wants a file."""
    data = np.asarray(audio, dtype=np.float64)
    if data.ndim == 1:
        data = data[None, :]
    pcm = np.round(np.clip(np.nan_to_num(data), -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(data.shape[0])
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(np.ascontiguousarray(pcm.T).tobytes())  # frames interleave channels
    return buffer.getvalue()
