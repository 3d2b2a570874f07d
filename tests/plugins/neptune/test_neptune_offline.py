"""Everything the neptune backend records offline, replayed from neptune's offline store with
neptune's own code (see neptune_support) and compared with what was sent.

One module-wide run sends every kind of data; each test checks one kind.
"""

from __future__ import annotations

import importlib.util
import io
import math
import wave

import neptune  # noqa: F401  (collected first, as the SDK wants)
import numpy as np
import pytest
import torch
from fanlog_neptune import NeptuneLogger

from fanlog.media import to_hwc_uint8
from fanlog.status import Status
from tests.plugins.neptune.neptune_support import (
    Replay,
    blocked_network,
    only_run,
    private_home,
)

RNG = np.random.default_rng(0)
PARAMS = {"lr": 0.001, "batch_size": 32, "opt": {"name": "adam", "betas": [0.9, 0.999]},
          "amp": False, "note": None}
IMAGES = {
    "img/hw_float": (RNG.random((6, 7)), "HW"),
    "img/hwc_uint8": (RNG.integers(0, 256, (5, 4, 3), dtype=np.uint8), "HWC"),
    "img/chw_float32": (RNG.random((3, 5, 6)).astype(np.float32), "CHW"),
    "img/nchw_batch": (RNG.random((3, 1, 4, 4)), "NCHW"),
    "img/rgba": (RNG.integers(0, 256, (2, 3, 4), dtype=np.uint8), "HWC"),
}
AUDIO = {
    "clip/mono": np.sin(np.linspace(0, 60, 800)) * 0.8,
    "clip/stereo": np.stack([np.linspace(-1, 1, 400), np.linspace(1, -1, 400)]),
}
TEXTS = [("sample", "hello \N{EARTH GLOBE EUROPE-AFRICA} world", 7), ("note", "second", None)]
STEPS = range(100)
MODEL = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("neptune-inputs")
    (root / "report.txt").write_text("report body")
    (root / "bundle" / "sub").mkdir(parents=True)
    (root / "bundle" / "a.json").write_text('{"a": 1}')
    (root / "bundle" / "sub" / "b.bin").write_bytes(bytes(range(256)))
    return root


@pytest.fixture(scope="module")
def figure():
    """A pyplot figure, or None without matplotlib (then no figure is sent)."""
    if importlib.util.find_spec("matplotlib") is None:
        yield None
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 3, 2])
    yield fig
    plt.close(fig)


CHECKPOINT = b"\x00checkpoint\xff" * 10


@pytest.fixture(scope="module")
def replayed(tmp_path_factory, files, figure) -> Replay:
    root = tmp_path_factory.mktemp("neptune-run")
    with private_home(root), blocked_network() as attempts:
        logger = NeptuneLogger(mode="offline", name="everything", log_model="all")
        logger.log_hyperparams(PARAMS)
        for step in STEPS:
            logger.log_metrics({"loss": 1.0 / (step + 1), "acc": step / 100}, step)
        logger.log_metrics({"nan": math.nan, "inf": math.inf, "ok": 1.0}, 100)
        for key, text, step in TEXTS:
            logger.log_text(key, text, step)
        for key, (image, dataformats) in IMAGES.items():
            logger.log_image(key, image, 3, dataformats)
        for key, audio in AUDIO.items():
            logger.log_audio(key, audio, 9, 8000)
        logger.log_audio("clip/later", AUDIO["clip/mono"], None, 8000)
        if figure is not None:
            logger.log_figure("curve", figure, 11)
        logger.log_graph(MODEL, None)
        logger.log_artifact(str(files / "report.txt"), None, {"kind": "report", "step": 4})
        logger.log_artifact(str(files / "report.txt"), "renamed.md", {})
        logger.log_artifact(str(files / "bundle"), None, {"kind": "data"})
        checkpoint = files / "epoch=1.ckpt"
        checkpoint.write_bytes(CHECKPOINT)
        logger.log_artifact(str(checkpoint), "best.ckpt", {"kind": "checkpoint", "step": 50,
                                                           "score": 0.5})
        checkpoint.unlink()  # rotated away, as checkpoint callbacks do
        logger.finalize(Status.SUCCESS)
    assert not attempts, f"the run tried to reach the network: {attempts}"
    return only_run(root / "neptune-data", root / "replay")


def test_run_attributes(replayed):
    assert replayed.value("sys/name") == "everything"
    assert replayed.value("sys/failed") is False
    assert replayed.value("training/status") == "success"


def test_metrics_values_and_steps(replayed):
    assert replayed.floats("training/loss") == [(s, 1.0 / (s + 1)) for s in STEPS]
    assert replayed.floats("training/acc") == [(s, s / 100) for s in STEPS]


def test_non_finite_metrics_are_kept_as_text_beside_the_rest(replayed):
    assert replayed.floats("training/ok") == [(100, 1.0)]
    assert replayed.strings("training/nonfinite/nan") == [(100, "nan")]
    assert replayed.strings("training/nonfinite/inf") == [(100, "inf")]
    assert "training/nan" not in replayed.paths()  # a float series cannot hold them


def test_hyperparameters_as_a_namespace(replayed):
    assert replayed.namespace("training/hyperparams") == {
        "lr": 0.001, "batch_size": 32, "opt/name": "adam", "opt/betas": "[0.9, 0.999]",
        "amp": False, "note": "None"}


def test_text_series(replayed):
    assert replayed.strings("training/text/sample") == [(7, TEXTS[0][1])]
    assert replayed.strings("training/text/note") == [(None, "second")]  # neptune numbers it


def test_images_exact_pixels(replayed):
    from PIL import Image

    for key, (image, dataformats) in IMAGES.items():
        [(step, png)] = replayed.images(f"training/images/{key}")
        stored = np.asarray(Image.open(io.BytesIO(png)))
        if stored.ndim == 2:
            stored = stored[:, :, None]
        np.testing.assert_array_equal(stored, to_hwc_uint8(image, dataformats), err_msg=key)
        assert step == 3


def test_audio_clips_one_file_per_step(replayed):
    for key, audio in AUDIO.items():
        with wave.open(io.BytesIO(replayed.file(f"training/audio/{key}/9"))) as clip:
            channels, rate = clip.getnchannels(), clip.getframerate()
            frames = np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2")
        expected = np.atleast_2d(audio)
        assert (channels, rate) == (expected.shape[0], 8000)
        np.testing.assert_allclose(frames.reshape(-1, channels).T / 32767, expected,
                                   atol=1 / 32767)
    assert replayed.paths()["training/audio/clip/later/100"] == "file"  # no step: the last one


def test_figure_as_png(replayed, figure):
    if figure is None:
        pytest.skip("matplotlib is not installed")
    [(step, png)] = replayed.images("training/figures/curve")
    assert step == 11 and png.startswith(b"\x89PNG")


def test_model_summary(replayed):
    assert replayed.file("training/model/summary").decode() == str(MODEL)


def test_artifacts_with_metadata(replayed):
    assert replayed.file("training/artifacts/report/file") == b"report body"
    assert replayed.namespace("training/artifacts/report/metadata") == {"kind": "report",
                                                                        "step": 4}
    assert replayed.file("training/artifacts/renamed/file") == b"report body"
    assert "training/artifacts/renamed/metadata" not in replayed.paths()
    bundle = replayed.file_set("training/artifacts/bundle/files")
    assert bundle == {"a.json": b'{"a": 1}', "sub/b.bin": bytes(range(256))}


def test_checkpoint_is_copied_when_logged(replayed):
    assert replayed.file("training/model/checkpoints/best/file") == CHECKPOINT
    assert replayed.namespace("training/model/checkpoints/best/metadata") == {
        "kind": "checkpoint", "step": 50, "score": 0.5}
