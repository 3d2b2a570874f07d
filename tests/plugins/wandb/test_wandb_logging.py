"""What the W&B backend writes, read back from the run's .wandb log with wandb's own reader
and compared exactly: history rows at their steps, config, summary, media files, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import wandb
from fanlog_wandb import WandbLogger

from fanlog import Status

STEP = "trainer/global_step"


def pixels(path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image)


def test_metrics_land_at_their_steps_whatever_the_order(tmp_path, read_run):
    logger = WandbLogger(save_dir=tmp_path / "runs", name="exact", project="proj")
    logger.log_hyperparams({"opt": {"lr": 0.1, "betas": [0.9, 0.99]}, "bs": 32})
    for step in range(4):
        logger.log_metrics({"loss": 1 / (step + 1), "acc": 0.1 + 0.2}, step)
    logger.log_metrics({"val_loss": 0.25}, 1)  # an earlier step, after later ones
    logger.log_metrics({"loss": float("nan"), "gnorm": float("inf")}, 10)
    logger.log_hyperparams({"bs": 64})  # later values win
    logger.finalize(Status.SUCCESS)

    run = read_run(tmp_path / "runs")
    assert run.run["display_name"] == "exact"
    assert run.run["project"] == "proj"
    # leet writes float64 in shortest round-trip form, NaN/inf as strings
    assert run.history == [
        {"loss": 1.0, "acc": 0.30000000000000004, STEP: 0},
        {"loss": 0.5, "acc": 0.30000000000000004, STEP: 1},
        {"loss": 1 / 3, "acc": 0.30000000000000004, STEP: 2},
        {"loss": 0.25, "acc": 0.30000000000000004, STEP: 3},
        {"val_loss": 0.25, STEP: 1},
        {"loss": "NaN", "gnorm": "Infinity", STEP: 10},
    ]
    assert run.config == {"opt": {"lr": 0.1, "betas": [0.9, 0.99]}, "bs": 64}
    summary: dict = {}
    for record in run.of("summary"):
        summary.update(record["update"])
    assert summary["loss"] == "NaN" and summary["val_loss"] == 0.25 and summary[STEP] == 10
    # the global step is the x-axis of every other key
    assert {"glob_name": "*", "step_metric": STEP,
            "options": {"defined": True, "step_sync": True}} in run.of("metric")
    assert run.exit_code == 0


@pytest.mark.parametrize(("status", "code"), [
    (Status.SUCCESS, 0), (Status.FAILED, 1), (Status.INTERRUPTED, 255)])
def test_status_becomes_the_exit_code_and_no_service_is_left(tmp_path, read_run, services,
                                                              status, code):
    logger = WandbLogger(save_dir=tmp_path)
    logger.log_metrics({"x": 1.0}, 0)
    assert services(), "wandb-core should run while the run is open"
    logger.finalize(status)
    assert services() == []
    logger.finalize(status)  # idempotent
    assert read_run(tmp_path).exit_code == code


def test_options_prefix_step_metric_and_init_kwargs(tmp_path, read_run):
    logger = WandbLogger(save_dir=tmp_path, prefix="train", step_metric="step", id="fixed-id-1",
                         group="sweep-a", tags=["t1", "t2"], notes="n", job_type="train",
                         config={"seed": 7})
    logger.log_metrics({"loss": 0.5}, 3)
    logger.log_text("note", "hi", None)
    assert logger.state_dict() == {"id": "fixed-id-1", "step": 3}
    logger.finalize(Status.SUCCESS)

    run = read_run(tmp_path)
    assert run.run["run_id"] == "fixed-id-1"
    assert (run.run["run_group"], run.run["tags"], run.run["notes"], run.run["job_type"]) == (
        "sweep-a", ["t1", "t2"], "n", "train")
    assert run.config == {"seed": 7}
    assert run.history[0] == {"train-loss": 0.5, "step": 3}
    # a value logged without a step is put at the last step (step_sync)
    assert run.history[1]["step"] == 3 and run.history[1]["train-note._type"] == "table-file"


def test_media_are_stored_losslessly(tmp_path, read_run):
    import soundfile

    rng = np.random.default_rng(0)
    chw = rng.integers(0, 256, (3, 5, 7), dtype=np.uint8)
    gray = rng.random((4, 6))  # floats in 0..1, layout HW
    batch = rng.integers(0, 256, (2, 1, 3, 3), dtype=np.uint8)
    values = np.concatenate([rng.normal(size=1000), [np.nan, np.inf]])
    stereo = rng.uniform(-1, 1, (2, 800)).astype(np.float32)

    logger = WandbLogger(save_dir=tmp_path)
    logger.log_metrics({"loss": 1.0}, 4)
    logger.log_text("sample", "the cat sat", 5)
    logger.log_image("rgb", chw, 5, "CHW")
    logger.log_image("gray", gray, None, "HW")
    logger.log_image("batch", batch, 6, "NCHW")
    logger.log_histogram("weights", values, 6, 16)
    logger.log_audio("voice", stereo, 7, 8000)
    logger.finalize(Status.SUCCESS)

    run = read_run(tmp_path)
    (text,) = run.rows_with("sample")
    table = json.loads((run.files / text["sample.path"]).read_text())
    assert (text[STEP], table["columns"], table["data"]) == (5, ["text"], [["the cat sat"]])

    (rgb,) = run.rows_with("rgb")
    assert rgb[STEP] == 5 and (rgb["rgb.width"], rgb["rgb.height"]) == (7, 5)
    np.testing.assert_array_equal(pixels(run.files / rgb["rgb.path"]),
                                  chw.transpose(1, 2, 0))
    (gray_row,) = run.rows_with("gray")
    assert gray_row[STEP] == 5  # no step given: the last step logged
    np.testing.assert_array_equal(pixels(run.files / gray_row["gray.path"]),
                                  np.clip(gray * 255 + 0.5, 0, 255).astype(np.uint8))

    (batch_row,) = run.rows_with("batch")
    assert batch_row["batch.count"] == 2 and batch_row[STEP] == 6
    for item, name in zip(batch, batch_row["batch.filenames"], strict=True):
        np.testing.assert_array_equal(pixels(run.files / name), item[0])

    (hist,) = run.rows_with("weights")
    counts, edges = np.histogram(values[:1000], bins=16)
    assert hist["weights.values"] == counts.tolist() and hist["weights.bins"] == edges.tolist()

    (clip,) = run.rows_with("voice")
    samples, rate = soundfile.read(run.files / clip["voice.path"], dtype="float32")
    assert (clip[STEP], rate) == (7, 8000)
    np.testing.assert_array_equal(samples, stereo.T)


def test_figure_is_stored_as_an_image(tmp_path, read_run):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(3, 2), dpi=50)
    plt.plot([0, 1], [1, 0])
    logger = WandbLogger(save_dir=tmp_path)
    logger.log_figure("curve", fig, 2)
    plt.close(fig)
    logger.finalize(Status.SUCCESS)

    run = read_run(tmp_path)
    (row,) = run.rows_with("curve")
    assert row[STEP] == 2
    assert pixels(run.files / row["curve.path"]).shape[:2] == (100, 150)


def test_finalize_before_anything_was_logged_starts_no_run(tmp_path):
    logger = WandbLogger(save_dir=tmp_path / "runs")
    logger.finalize(Status.SUCCESS)
    assert not (tmp_path / "runs").exists()
    assert logger.state_dict() == {"id": None, "step": None}


def test_experiment_is_the_wandb_run(tmp_path):

    logger = WandbLogger(save_dir=tmp_path, offline=True)
    assert isinstance(logger.experiment, wandb.Run)
    assert logger.state_dict()["id"] == logger.experiment.id
    logger.finalize(Status.SUCCESS)


def test_offline_option_without_wandb_mode(tmp_path, monkeypatch, read_run):
    monkeypatch.delenv("WANDB_MODE")
    logger = WandbLogger(save_dir=tmp_path, offline=True)
    logger.log_metrics({"x": 2.0}, 1)
    logger.finalize(Status.SUCCESS)
    assert read_run(tmp_path).history == [{"x": 2.0, STEP: 1}]


def test_an_active_wandb_run_is_reused_and_left_open(tmp_path, read_run):

    mine = wandb.init(dir=tmp_path, project="mine")
    logger = WandbLogger(save_dir=tmp_path / "unused")
    with pytest.warns(RuntimeWarning, match="already active"):
        logger.log_metrics({"x": 1.0}, 0)
    assert logger.experiment is mine
    logger.finalize(Status.FAILED)
    assert wandb.run is mine  # still open: its owner finishes it
    mine.log({"after": 2.0})
    mine.finish()
    wandb.teardown()
    run = read_run(tmp_path)
    assert run.history == [{"x": 1.0, STEP: 0}, {"after": 2.0, STEP: 0}]
    assert run.exit_code == 0
