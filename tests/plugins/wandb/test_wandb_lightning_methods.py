"""Lightning's WandbLogger surface beyond the hooks (tables, videos, artifacts in use, the
name/version/save_dir properties, watch from a fit), the log_model policy through a real fit,
and project/id checked at construction, all read back from the offline run (leet)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fanlog_wandb import WandbLogger
from fanlog_wandb.checks import check_project, check_run_id
from PIL import Image

from fanlog import Module, Status, Trainer
from fanlog.testing.checkpoints import fit_with_checkpoints
from tests.plugins.wandb.test_wandb_artifacts import artifacts


def test_properties_table_and_video(tmp_path, read_run):
    logger = WandbLogger(save_dir=tmp_path / "runs", project="proj", id="run42", prefix="p")
    assert (logger.name, logger.version, logger.save_dir) == ("proj", "run42",
                                                              str(tmp_path / "runs"))
    gif = tmp_path / "clip.gif"
    frames = [Image.fromarray(np.full((8, 8, 3), v, np.uint8)) for v in (0, 128, 255)]
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    logger.log_table("preds", columns=["input", "label"], data=[[1, "cat"], [2, "dog"]], step=3)
    logger.log_video("clips", [str(gif)], step=4, caption=["three frames"])
    with pytest.raises(ValueError, match="caption has 2 items for 1 videos"):
        logger.log_video("clips", [str(gif)], step=5, caption=["a", "b"])
    assert logger.version == "run42"
    logger.finalize(Status.SUCCESS)
    run = read_run(tmp_path / "runs")
    assert run.run["run_id"] == "run42" and run.run["project"] == "proj"
    table_row, video_row = run.history
    assert (table_row["trainer/global_step"], table_row["p-preds._type"]) == (3, "table-file")
    table = json.loads((run.files / table_row["p-preds.path"]).read_text())
    assert (table["columns"], table["data"]) == (["input", "label"], [[1, "cat"], [2, "dog"]])
    assert video_row["trainer/global_step"] == 4
    assert video_row["p-clips._type"] == "videos"
    (video,) = video_row["p-clips.videos"]
    assert video["caption"] == "three frames"
    assert (run.files / video["path"]).read_bytes() == gif.read_bytes()


def test_use_artifact_reaches_wandb(tmp_path):
    """Offline, W&B itself refuses (a run can use artifacts only online), as in Lightning."""
    logger = WandbLogger(save_dir=tmp_path / "runs", offline=True)
    with pytest.raises(TypeError, match="Cannot use artifact when in offline mode"):
        logger.use_artifact("model-abc:best", artifact_type="model")
    logger.finalize(Status.SUCCESS)


def test_watch_from_a_fit_through_the_trainers_fanout(tmp_path, read_run):
    """``self.trainer.fan.watch(self, ...)`` in ``on_fit_start`` (docs/trainer.md)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    class Net(Module):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(3, 1)

        def forward(self, x):  # wandb logs parameters from a forward hook on the model
            return self.layer(x)

        def on_fit_start(self):
            self.trainer.fan.watch(self, log="all", log_freq=1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self(x), y)
            self.log("loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = TensorDataset(torch.randn(8, 3), torch.randn(8, 1))
    trainer = Trainer(default_root_dir=str(tmp_path), max_epochs=1, log_every_n_steps=1,
                      loggers=[WandbLogger(save_dir=tmp_path / "runs")],
                      logger_options={"summary": False}, enable_progress_bar=False)
    trainer.fit(Net(), DataLoader(data, batch_size=2))
    rows = read_run(tmp_path / "runs").history
    assert any(row.get("gradients/layer.weight._type") == "histogram" for row in rows)
    assert any(row.get("parameters/layer.bias._type") == "histogram" for row in rows)


@pytest.mark.parametrize(("log_model", "steps", "aliases"), [
    (False, [], []),
    (True, [4], [["best", "latest"]]),
    ("all", [2, 4], [["best", "latest"], ["best", "latest"]]),
])
def test_log_model_policy_through_a_fit(tmp_path, read_run, log_model, steps, aliases):
    """``model-<id>:best`` resolves (the best version carries ``best``, Lightning #16979).
    Offline, the version rotated out cannot be deleted: said once, as a warning."""
    logger = WandbLogger(save_dir=tmp_path / "runs", log_model=log_model)
    if log_model == "all":
        with pytest.warns(RuntimeWarning, match="offline run cannot delete artifact versions"):
            checkpoint = fit_with_checkpoints(logger, tmp_path / "root")
    else:
        checkpoint = fit_with_checkpoints(logger, tmp_path / "root")
    run = read_run(tmp_path / "runs")
    found = artifacts(run)
    assert [a["metadata"]["step"] for a in found] == steps
    assert [a["aliases"] for a in found] == aliases
    assert all(a["name"] == f"model-{run.run['run_id']}" for a in found)
    if found:
        assert found[-1]["files"] == {"epoch=1-step=4.ckpt":
                                      Path(checkpoint.best_model_path).read_bytes()}


BAD_PROJECTS = ["a/b", "a:b", "x" * 129, "what?", "100%"]
BAD_IDS = ["a/b", "a,b", " lead", "trail ", "   ", "it's", "a;b"]


@pytest.mark.parametrize("project", BAD_PROJECTS)
def test_bad_project_fails_at_construction_as_wandb_would_at_start(project):
    import wandb

    with pytest.raises(ValueError, match="W&B project"):
        WandbLogger(project=project)
    with pytest.raises(wandb.errors.UsageError):
        wandb.Settings(project=project)


@pytest.mark.parametrize("run_id", BAD_IDS)
def test_bad_run_id_fails_at_construction_as_wandb_would_at_start(run_id):
    import wandb

    with pytest.raises(ValueError, match="W&B run id"):
        WandbLogger(id=run_id)
    with pytest.raises(ValueError, match="W&B run id"):
        WandbLogger(version=run_id)
    with pytest.raises(wandb.errors.UsageError):
        wandb.Settings(run_id=run_id)


@pytest.mark.parametrize("value", ["ok", "my-project_1.2", "ünï", "x" * 128])
def test_good_names_pass_both(value):
    import wandb

    check_project(value)
    check_run_id(value)
    wandb.Settings(project=value, run_id=value)


def test_lightnings_synonyms_and_a_given_run(tmp_path, read_runs):
    """``dir`` and ``mode`` (Lightning passes ``mode`` to wandb.init), ``add_file_policy``,
    and ``experiment``: a run the caller started, logged into and left to the caller."""
    import wandb

    report = tmp_path / "report.txt"
    report.write_text("r")
    logger = WandbLogger(dir=tmp_path / "a", mode="offline", add_file_policy="immutable")
    assert logger.save_dir == str(tmp_path / "a")
    logger.log_metrics({"x": 1.0}, 0)
    logger.log_artifact(str(report), None, {"kind": "report"})
    logger.finalize(Status.SUCCESS)
    (run,) = read_runs(tmp_path / "a")
    assert run.history == [{"x": 1.0, "trainer/global_step": 0}]
    assert [a["files"] for a in artifacts(run)] == [{"report.txt": b"r"}]

    own = wandb.init(dir=str(tmp_path / "b"), mode="offline", project="mine")
    logger = WandbLogger(experiment=own)
    logger.log_metrics({"y": 2.0}, 5)
    logger.finalize(Status.SUCCESS)
    assert logger.version == own.id
    own.log({"after": 1})  # still the caller's, not finished by fanlog
    own.finish()
    wandb.teardown()  # the caller's service, as the caller's run
    (run,) = read_runs(tmp_path / "b")
    assert run.history[0] == {"y": 2.0, "trainer/global_step": 5}
    assert run.history[1]["after"] == 1
