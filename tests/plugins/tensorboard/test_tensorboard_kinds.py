"""Every kind of record, written by the backend and read back with TensorBoard's own reader."""

from __future__ import annotations

import io
import json
import math
import os
import wave
from pathlib import Path

import numpy as np
import pytest
import tensorboard  # noqa: F401  (collected first, as the SDK wants)
from fanlog_tensorboard import TensorBoardLogger
from PIL import Image
from tensorboard.plugins.hparams import api_pb2, metadata

from fanlog import Status


def _hparams(acc) -> tuple:
    content = acc.PluginTagToContent("hparams")
    return (
        metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG]),
        metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG]),
        metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG]),
    )


def _pixels(event) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(event.encoded_image_string)))


# -- scalars -------------------------------------------------------------------------------

def test_scalars_exact_float32(logger: TensorBoardLogger, read_run) -> None:
    values = [0.1, 1 / 3, 1e-30, -2.5, 123456.789, math.nan, math.inf, -math.inf]
    for step, value in enumerate(values):
        logger.log_metrics({"loss": value, "const": 2.0}, step * 10)
    logger.finalize(Status.SUCCESS)
    acc = read_run(logger.log_dir)
    loss = acc.Scalars("loss")
    assert [e.step for e in loss] == [s * 10 for s in range(len(values))]
    for event, value in zip(loss, values, strict=True):
        expected = np.float32(value)
        assert (math.isnan(event.value) and math.isnan(expected)) or event.value == expected
    assert [e.value for e in acc.Scalars("const")] == [2.0] * len(values)


def test_prefix_names_metrics_like_lightning(tmp_path: Path, read_run) -> None:
    lg = TensorBoardLogger(save_dir=tmp_path, prefix="train", default_hp_metric=False)
    lg.log_metrics({"loss": 0.5}, 3)
    lg.finalize("success")
    assert read_run(lg.log_dir).Tags()["scalars"] == ["train-loss"]


# -- hyperparameters -----------------------------------------------------------------------

def test_hparams_plugin_with_every_logged_metric(logger: TensorBoardLogger, read_run) -> None:
    logger.log_hyperparams({"lr": 0.01, "layers": 3, "amp": True, "opt": {"name": "adam",
                            "betas": [0.9, 0.999]}, "seed": None})
    logger.log_metrics({"loss": 1.0}, 1)
    logger.log_metrics({"val/acc": 0.5}, 2)
    logger.finalize(Status.SUCCESS)

    assert os.listdir(Path(logger.log_dir).parent) == ["version_0"]  # no timestamped folders
    files = sorted(Path(logger.log_dir).iterdir())  # one event file and hparams.yaml
    assert [p.is_file() for p in files] == [True, True] and files[-1].name == "hparams.yaml"
    acc = read_run(logger.log_dir)
    experiment, start, end = _hparams(acc)
    assert [m.name.tag for m in experiment.metric_infos] == ["hp_metric", "loss", "val/acc"]
    types = {h.name: h.type for h in experiment.hparam_infos}
    assert types == {"lr": api_pb2.DATA_TYPE_FLOAT64, "layers": api_pb2.DATA_TYPE_FLOAT64,
                     "amp": api_pb2.DATA_TYPE_BOOL, "opt/name": api_pb2.DATA_TYPE_STRING,
                     "opt/betas": api_pb2.DATA_TYPE_STRING, "seed": api_pb2.DATA_TYPE_STRING}
    values = {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
    assert values == {"lr": 0.01, "layers": 3.0, "amp": True, "opt/name": "adam",
                      "opt/betas": "[0.9, 0.999]", "seed": "None"}
    assert end.status == api_pb2.STATUS_SUCCESS
    hp_metric = acc.Scalars("hp_metric")
    assert [(e.step, e.value) for e in hp_metric] == [(0, -1.0)]


def test_hparams_calls_before_data_merge_later_wins(logger: TensorBoardLogger, read_run) -> None:
    logger.log_hyperparams({"lr": 0.1, "batch": 8})
    logger.log_hyperparams({"lr": 0.2})
    logger.log_metrics({"loss": 1.0}, 1)
    logger.finalize("success")
    _, start, _ = _hparams(read_run(logger.log_dir))
    assert {k: v.number_value for k, v in start.hparams.items()} == {"lr": 0.2, "batch": 8.0}


def test_hparams_written_with_the_first_data_of_any_kind(tmp_path: Path, read_run) -> None:
    lg = TensorBoardLogger(save_dir=tmp_path, default_hp_metric=False)
    lg.log_hyperparams({"lr": 0.1})
    lg.log_image("img", np.zeros((2, 2), np.uint8), 1, "HW")
    lg.experiment.flush()  # the writer's own flush: no save, no finalize (a killed run)
    content = read_run(lg.log_dir).PluginTagToContent("hparams")
    assert list(content) == [metadata.SESSION_START_INFO_TAG]
    lg.finalize("success")


@pytest.mark.parametrize(("status", "expected"), [
    (Status.FAILED, api_pb2.STATUS_FAILURE),
    (Status.INTERRUPTED, api_pb2.STATUS_FAILURE),
])
def test_hparams_end_status(tmp_path: Path, read_run, status: Status, expected: int) -> None:
    lg = TensorBoardLogger(save_dir=tmp_path, default_hp_metric=False)
    lg.log_hyperparams({"lr": 0.1})
    lg.finalize(status)
    acc = read_run(lg.log_dir)
    experiment, _, end = _hparams(acc)
    assert end.status == expected
    assert list(experiment.metric_infos) == []
    assert acc.Tags()["scalars"] == []  # default_hp_metric=False: no hp_metric


# -- text, images ----------------------------------------------------------------------------

def test_text_at_given_and_current_step(logger: TensorBoardLogger, read_run) -> None:
    logger.log_metrics({"loss": 1.0}, 4)
    logger.log_text("notes", "first *note*", 2)
    logger.log_text("notes", "ünïcode\nsecond", None)
    logger.finalize("success")
    events = read_run(logger.log_dir).Tensors("notes/text_summary")
    assert [(e.step, e.tensor_proto.string_val[0].decode()) for e in events] == [
        (2, "first *note*"), (4, "ünïcode\nsecond")]


def test_images_in_every_layout(logger: TensorBoardLogger, read_run) -> None:
    rng = np.random.default_rng(0)
    chw = rng.random((3, 4, 5))
    hwc = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    hw = rng.integers(0, 256, (6, 2), dtype=np.uint8)
    rgba = rng.integers(0, 256, (3, 3, 4), dtype=np.uint8)
    batch = rng.integers(0, 256, (4, 3, 2, 3), dtype=np.uint8)  # NCHW, 4 images of 2x3
    logger.log_image("chw", chw, 1, "CHW")
    logger.log_image("hwc", hwc, 1, "HWC")
    logger.log_image("hw", hw, 1, "HW")
    logger.log_image("rgba", rgba, 1, "HWC")
    logger.log_image("batch", batch, 1, "NCHW")
    logger.finalize("success")
    acc = read_run(logger.log_dir)

    (event,) = acc.Images("chw")
    assert (event.height, event.width) == (4, 5)
    assert np.array_equal(_pixels(event), np.round(chw.transpose(1, 2, 0) * 255).astype(np.uint8))
    assert np.array_equal(_pixels(acc.Images("hwc")[0]), hwc)
    assert np.array_equal(_pixels(acc.Images("hw")[0]), hw)
    assert np.array_equal(_pixels(acc.Images("rgba")[0]), rgba)
    (grid,) = acc.Images("batch")
    assert (grid.height, grid.width) == (2 * 2 + 2, 2 * 3 + 2)  # 2x2 grid, 2-pixel gaps
    pixels = _pixels(grid)
    assert np.array_equal(pixels[:2, :3], batch[0].transpose(1, 2, 0))
    assert np.array_equal(pixels[4:, 5:], batch[3].transpose(1, 2, 0))


# -- histograms, audio ------------------------------------------------------------------------

def test_histogram_counts_and_sums(logger: TensorBoardLogger, read_run) -> None:
    values = np.random.default_rng(1).normal(size=1000)
    logger.log_histogram("weights", values, 5, 20)
    logger.log_histogram("weights", np.array([1.0, np.nan, 2.0, np.inf]), 6, 4)
    logger.finalize("success")
    first, second = read_run(logger.log_dir).Histograms("weights")
    h = first.histogram_value
    assert (first.step, h.num, h.min, h.max) == (5, 1000, values.min(), values.max())
    assert h.sum == float(values.sum())
    assert h.sum_squares == pytest.approx(float((values ** 2).sum()))
    counts, _ = np.histogram(values, bins=20)
    assert [c for c in h.bucket if c] == [c for c in counts if c]
    assert (second.step, second.histogram_value.num, second.histogram_value.sum) == (6, 2, 3.0)


def test_audio_mono_and_stereo(logger: TensorBoardLogger, read_run) -> None:
    t = np.arange(4000) / 8000
    mono = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([mono, -mono])[:, :1000]
    logger.log_audio("mono", mono, 1, 8000)
    logger.log_audio("stereo", stereo, 2, 16000)
    logger.finalize("success")
    acc = read_run(logger.log_dir)

    for tag, clip, rate, step in (("mono", mono[None], 8000, 1), ("stereo", stereo, 16000, 2)):
        (event,) = acc.Audio(tag)
        assert (event.step, event.sample_rate, event.length_frames) == (step, rate, clip.shape[1])
        assert event.content_type == "audio/wav"
        with wave.open(io.BytesIO(event.encoded_audio_string)) as wav:
            assert (wav.getnchannels(), wav.getframerate()) == (clip.shape[0], rate)
            frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
        expected = np.round(clip.T * 32767).astype("<i2").reshape(-1)  # interleaved
        assert np.array_equal(frames, expected)


# -- figures, graphs, artifacts --------------------------------------------------------------

def test_figure_rendered_and_left_open(logger: TensorBoardLogger, read_run) -> None:
    import matplotlib  # noqa: F401
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1), dpi=50, facecolor=(1.0, 0.0, 0.0))
    fig.add_subplot().plot([0, 1], [1, 0])
    canvas = fig.canvas
    logger.log_figure("fig", fig, 3)
    assert fig.canvas is canvas  # not swapped: other backends render the same figure
    logger.finalize("success")
    (event,) = read_run(logger.log_dir).Images("fig")
    assert (event.step, event.width, event.height) == (3, 100, 50)
    assert tuple(_pixels(event)[0, 0]) == (255, 0, 0, 255)


@pytest.mark.filterwarnings("ignore:`torch.jit.trace:DeprecationWarning")
def test_graph_only_when_asked(tmp_path: Path, read_run) -> None:
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    off = TensorBoardLogger(save_dir=tmp_path, name="off")
    off.log_graph(model, torch.zeros(2, 4))
    off.log_metrics({"x": 1.0}, 0)
    off.finalize("success")
    assert read_run(off.log_dir).Tags()["graph"] is False

    on = TensorBoardLogger(save_dir=tmp_path, name="on", log_graph=True)
    model.example_input_array = torch.zeros(2, 4)
    on.log_graph(model, None)  # falls back to example_input_array, as Lightning does
    on.finalize("success")
    acc = read_run(on.log_dir)
    assert acc.Tags()["graph"] is True
    assert {"aten::linear", "aten::relu"} <= {node.op for node in acc.Graph().node}


def test_artifact_noted_as_text(logger: TensorBoardLogger, read_run, tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpts" / "epoch=1.ckpt"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"weights")
    logger.log_metrics({"loss": 1.0}, 7)
    logger.log_artifact(str(ckpt), "best", {"kind": "checkpoint", "score": 0.5})
    logger.log_artifact(str(ckpt.parent), None, {})
    logger.finalize("success")
    acc = read_run(logger.log_dir)
    (best,) = acc.Tensors("artifacts/best/text_summary")
    path, meta = best.tensor_proto.string_val[0].decode().split("\n\n")
    assert (best.step, path, json.loads(meta)) == (
        7, str(ckpt), {"kind": "checkpoint", "score": 0.5})
    (folder,) = acc.Tensors("artifacts/ckpts/text_summary")
    assert folder.tensor_proto.string_val[0].decode() == str(ckpt.parent)
