"""Resume: the same version folder, and each step read exactly once."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import tensorboard  # noqa: F401  (collected first, as the SDK wants)
from fanlog_tensorboard import TensorBoardLogger
from PIL import Image
from tensorboard.plugins.hparams import metadata


def _image(value: int) -> np.ndarray:
    return np.full((2, 2), value, dtype=np.uint8)


def test_resume_continues_folder_without_duplicate_steps(tmp_path: Path, read_run) -> None:
    first = TensorBoardLogger(save_dir=tmp_path, flush_secs=3600)
    first.log_hyperparams({"lr": 0.1})
    state = None
    for step in range(10):
        first.log_metrics({"loss": float(step)}, step)
        first.log_image("img", _image(step), step, "HW")
        if step == 5:
            state = json.loads(json.dumps(first.state_dict()))  # as a checkpoint stores it
    first.finalize("failed")  # the run went on past its checkpoint, then died
    assert state is not None and state["step"] == 5 and state["version"] == 0

    second = TensorBoardLogger(save_dir=tmp_path, flush_secs=3600)
    second.load_state_dict(state)
    assert second.state_dict()["step"] == 5
    second.log_hyperparams({"lr": 0.1})  # hp_metric at step 0 is not written again
    for step in range(3, 13):  # replays steps it already has, then goes on
        second.log_metrics({"loss": 100.0 + step}, step)
        second.log_image("img", _image(100 + step), step, "HW")
    second.finalize("success")

    assert second.log_dir == first.log_dir
    assert os.listdir(tmp_path / "fanlog") == ["version_0"]
    acc = read_run(second.log_dir)
    expected = [(s, float(s) if s <= 5 else 100.0 + s) for s in range(13)]
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == expected
    images = [(e.step, int(np.asarray(Image.open(io.BytesIO(e.encoded_image_string)))[0, 0]))
              for e in acc.Images("img")]
    assert images == [(s, s if s <= 5 else 100 + s) for s in range(13)]
    assert [(e.step, e.value) for e in acc.Scalars("hp_metric")] == [(0, -1.0)]
    assert second.state_dict()["step"] == 12


def test_resumed_hparams_table_keeps_metrics_of_the_first_run(tmp_path: Path, read_run) -> None:
    first = TensorBoardLogger(save_dir=tmp_path)
    first.log_hyperparams({"lr": 0.1})
    first.log_metrics({"a": 1.0}, 1)
    state = first.state_dict()
    first.experiment.close()  # killed: no finalize, so no hparams table yet

    second = TensorBoardLogger(save_dir=tmp_path)
    second.load_state_dict(state)
    second.log_hyperparams({"lr": 0.1})
    second.log_metrics({"b": 2.0}, 2)
    second.finalize("success")
    content = read_run(second.log_dir).PluginTagToContent("hparams")
    experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
    assert [m.name.tag for m in experiment.metric_infos] == ["hp_metric", "a", "b"]


def test_resume_from_a_state_with_nothing_logged(tmp_path: Path, read_run) -> None:
    first = TensorBoardLogger(save_dir=tmp_path, default_hp_metric=False)
    state = first.state_dict()
    assert state["step"] is None
    for step in range(4):
        first.log_metrics({"loss": float(step)}, step)
    first.finalize("failed")

    second = TensorBoardLogger(save_dir=tmp_path, default_hp_metric=False)
    second.load_state_dict(state)
    for step in range(2):
        second.log_metrics({"loss": 10.0 + step}, step)
    second.finalize("success")
    acc = read_run(second.log_dir)
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [(0, 10.0), (1, 11.0)]


def test_resume_state_after_the_run_started_is_refused(logger: TensorBoardLogger) -> None:
    logger.log_metrics({"loss": 1.0}, 0)
    with pytest.raises(RuntimeError, match="before anything is logged"):
        logger.load_state_dict({"version": 0, "step": 0})
    with pytest.raises(ValueError, match="version"):
        TensorBoardLogger().load_state_dict({"step": 3})
