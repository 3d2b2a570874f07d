"""Everything the comet backend records, read back from the offline archive it writes.

One module-wide run sends every kind of data (each Comet run costs ~1 s to end); each test
checks one kind against what was sent, after the reader has validated every record with
comet_ml's own schemas.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import wave

import comet_ml  # noqa: F401  (collected first, as the SDK wants)
import numpy as np
import pytest
import torch
from fanlog_comet import CometLogger

from fanlog.media import to_hwc_uint8
from fanlog.status import Status
from tests.plugins.comet.comet_support import (
    Archive,
    blocked_network,
    only_archive,
    private_home,
    same,
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
HISTOGRAM = RNG.normal(size=1000)
AUDIO = {
    "clip/mono": np.sin(np.linspace(0, 60, 800)) * 0.8,
    "clip/stereo": np.stack([np.linspace(-1, 1, 400), np.linspace(1, -1, 400)]),
}
TEXTS = [("sample", "hello \N{EARTH GLOBE EUROPE-AFRICA} world", 7), ("note", "second", None)]
STEPS = range(100)
MODEL = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("comet-inputs")
    (root / "report.txt").write_text("report body")
    (root / "bundle" / "sub").mkdir(parents=True)
    (root / "bundle" / "a.json").write_text('{"a": 1}')
    (root / "bundle" / "sub" / "b.bin").write_bytes(bytes(range(256)))
    (root / "epoch=1.ckpt").write_bytes(b"\x00checkpoint\xff" * 10)
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


@pytest.fixture(scope="module")
def archive(tmp_path_factory, files, figure) -> Archive:
    root = tmp_path_factory.mktemp("comet-run")
    with private_home(root / "home"), blocked_network() as attempts:
        logger = CometLogger(offline=True, offline_directory=root / "out", workspace="ws",
                             project_name="fanlog-tests", experiment_name="everything",
                             prefix="train", log_model="all")
        logger.log_hyperparams(PARAMS)
        for step in STEPS:
            logger.log_metrics({"loss": 1.0 / (step + 1), "acc": step / 100}, step)
        logger.log_metrics({"nan": math.nan, "inf": math.inf, "neg_inf": -math.inf}, 100)
        for key, text, step in TEXTS:
            logger.log_text(key, text, step)
        for key, (image, dataformats) in IMAGES.items():
            logger.log_image(key, image, 3, dataformats)
        logger.log_histogram("weights", HISTOGRAM, 5, 64)
        logger.log_histogram("weights", HISTOGRAM * 2, None, 64)
        for key, audio in AUDIO.items():
            logger.log_audio(key, audio, 9, 8000)
        if figure is not None:
            logger.log_figure("curve", figure, 11)
        logger.log_graph(MODEL, None)
        logger.log_artifact(str(files / "report.txt"), None, {"kind": "report", "step": 4})
        logger.log_artifact(str(files / "report.txt"), "renamed.txt", {})
        logger.log_artifact(str(files / "bundle"), None, {"kind": "data"})
        logger.log_artifact(str(files / "epoch=1.ckpt"), "best", {"kind": "checkpoint",
                                                                  "step": 50, "score": 0.5})
        logger.finalize(Status.SUCCESS)
    assert not attempts, f"the run tried to reach the network: {attempts}"
    return only_archive(root / "out")


def test_experiment_file(archive):
    assert archive.experiment["project_name"] == "fanlog-tests"
    assert archive.experiment["workspace"] == "ws"
    assert archive.experiment["resume_strategy"] == "create"
    assert archive.experiment["customer_error_reported"] is False
    assert archive.others()["Name"] == "everything"


def test_metrics_values_and_steps(archive):
    series = archive.metrics()
    assert series["train-loss"] == [(s, 1.0 / (s + 1)) for s in STEPS]
    assert series["train-acc"] == [(s, s / 100) for s in STEPS]
    assert [name for name in series if not name.startswith("train-")] == []


def test_non_finite_metrics_are_kept(archive):
    series = archive.metrics()
    for name, value in (("train-nan", math.nan), ("train-inf", math.inf),
                        ("train-neg_inf", -math.inf)):
        [(step, stored)] = series[name]
        assert step == 100 and same(stored, value)


def test_hyperparameters_nested_the_comet_way(archive):
    assert archive.params() == {"lr": 0.001, "batch_size": 32, "opt|name": "adam",
                                "opt|betas": [0.9, 0.999], "amp": False, "note": None}
    assert archive.others()["hasNestedParams"] is True


def test_text_samples(archive):
    uploads = archive.uploads("text-sample")
    assert [(p["metadata"]["key"], data.decode()) for p, data in uploads] == [
        (key, text) for key, text, _ in TEXTS]
    assert uploads[0][0]["additional_params"]["step"] == 7
    assert uploads[1][0]["additional_params"]["step"] == 100  # none given: the last metrics step


def test_images_exact_pixels(archive):
    from PIL import Image

    uploads = {p["additional_params"]["figName"]: (p, data)
               for p, data in archive.uploads("visualization")
               if p["additional_params"].get("extension") != "svg"}
    assert sorted(uploads) == sorted(IMAGES)
    for key, (image, dataformats) in IMAGES.items():
        payload, data = uploads[key]
        expected = to_hwc_uint8(image, dataformats)
        stored = np.asarray(Image.open(io.BytesIO(data)))
        if stored.ndim == 2:
            stored = stored[:, :, None]
        np.testing.assert_array_equal(stored, expected, err_msg=key)
        assert payload["additional_params"]["step"] == 3


def test_histograms(archive):
    from comet_ml.data_structure import Histogram

    uploads = archive.uploads("histogram3d")
    assert [(p["additional_params"]["fileName"], p["additional_params"]["step"])
            for p, _ in uploads] == [("weights", 5), ("weights", 100)]
    for (_, data), values in zip(uploads, (HISTOGRAM, HISTOGRAM * 2), strict=True):
        stored = Histogram.from_json(json.loads(data), verbose=False)
        assert sum(stored.counts) == values.size
        assert stored.get_count(0.0, math.inf) == np.count_nonzero(values >= 0)


def test_audio_clips(archive):
    uploads = {p["additional_params"]["fileName"]: (p, data)
               for p, data in archive.uploads("audio")}
    assert sorted(uploads) == sorted(f"{key}.wav" for key in AUDIO)
    for key, audio in AUDIO.items():
        payload, data = uploads[f"{key}.wav"]
        assert payload["metadata"] == {"sample_rate": 8000}
        assert payload["additional_params"]["step"] == 9
        with wave.open(io.BytesIO(data)) as clip:
            channels, rate = clip.getnchannels(), clip.getframerate()
            frames = np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2")
        expected = np.atleast_2d(audio)
        assert (channels, rate) == (expected.shape[0], 8000)
        decoded = frames.reshape(-1, channels).T / 32767
        np.testing.assert_allclose(decoded, expected, atol=1 / 32767)


def test_figure_as_svg(archive, figure):
    if figure is None:
        pytest.skip("matplotlib is not installed")
    import matplotlib.pyplot as plt

    [(payload, data)] = [(p, d) for p, d in archive.uploads("visualization")
                         if p["additional_params"].get("extension") == "svg"]
    assert payload["additional_params"]["figName"] == "curve"
    assert payload["additional_params"]["step"] == 11
    assert b"<svg" in data
    assert plt.fignum_exists(figure.number), "the backend must leave closing to the fan-out"


def test_model_graph(archive):
    assert [p["graph"] for p in archive.payloads("graph")] == [str(MODEL)]


def test_artifacts(archive, files):
    assets = {p["additional_params"]["fileName"]: (p, data) for p, data in archive.uploads("asset")}
    assert sorted(assets) == ["bundle/a.json", "bundle/sub/b.bin", "renamed.txt", "report.txt"]
    assert assets["report.txt"][1] == b"report body"
    assert assets["report.txt"][0]["metadata"] == {"kind": "report", "step": 4}
    assert assets["report.txt"][0]["additional_params"]["step"] == 4
    assert assets["bundle/sub/b.bin"][1] == bytes(range(256))
    assert assets["bundle/a.json"][0]["metadata"] == {"kind": "data"}


def test_checkpoint_goes_to_the_model_registry(archive, files):
    [(payload, data)] = archive.uploads("model-element")
    assert payload["additional_params"]["groupingName"] == "best"
    assert payload["metadata"] == {"kind": "checkpoint", "step": 50, "score": 0.5}
    assert data == (files / "epoch=1.ckpt").read_bytes()


def test_status_recorded(archive):
    assert archive.others()["status"] == "success"
