"""Resuming from a checkpoint continues the same backend runs: the csv backend's file ends
up exactly as an uninterrupted run writes it, every step once."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fanlog.callbacks import ModelCheckpoint
from tests.core.trainer.trainer_models import Regression, loader


def read_csv(root: Path) -> list[dict[str, str]]:
    runs = sorted((root / "fanlog").iterdir())
    assert [r.name for r in runs] == ["version_0"]  # the resumed run wrote to the same one
    with open(runs[0] / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def as_numbers(table):
    return [{k: float(v) if v else None for k, v in row.items()} for row in table]


def fit(make_trainer, root, max_epochs, ckpt_path=None, **checkpointing):
    callbacks = [ModelCheckpoint(save_top_k=-1, **checkpointing)] if checkpointing else []
    trainer = make_trainer(default_root_dir=str(root), loggers=["csv"], max_epochs=max_epochs,
                           callbacks=callbacks)
    module = Regression()
    trainer.fit(module, loader(16), loader(8), ckpt_path=ckpt_path)
    return module


@pytest.mark.parametrize(("checkpointing", "resume_from"), [
    ({"every_n_epochs": 1}, "epoch=1-step=8.ckpt"),  # an epoch boundary
    ({"every_n_epochs": None, "every_n_train_steps": 6}, "epoch=1-step=6.ckpt"),  # mid-epoch
    # an epoch's last step, before its validation and epoch values
    ({"every_n_epochs": None, "every_n_train_steps": 4}, "epoch=0-step=4.ckpt"),
])
def test_resumed_run_writes_each_step_exactly_once(make_trainer, tmp_path, checkpointing,
                                                   resume_from):
    reference = fit(make_trainer, tmp_path / "reference", max_epochs=4)
    expected = as_numbers(read_csv(tmp_path / "reference"))

    root = tmp_path / "resumed"
    fit(make_trainer, root, max_epochs=3, **checkpointing)  # got further than the checkpoint
    resumed = fit(make_trainer, root, max_epochs=4,
                  ckpt_path=root / "checkpoints" / resume_from)

    table = as_numbers(read_csv(root))
    steps = [row["step"] for row in table]
    assert steps == list(range(1, 17))  # each step once, none missing
    assert table == [pytest.approx(row) for row in expected]  # same values, epoch ones too
    for mine, theirs in zip(resumed.parameters(), reference.parameters(), strict=True):
        assert mine.detach().allclose(theirs.detach())


class StepValidation(Regression):
    """Also logs a validation step value, which goes out on the validation step counter."""

    def validation_step(self, batch, batch_idx):
        super().validation_step(batch, batch_idx)
        x, _ = batch
        self.log("val_x", x.sum(), on_step=True, on_epoch=False)


def test_evaluation_step_rows_leave_the_resume_point_on_a_training_step(make_trainer,
                                                                       tmp_path):
    """Evaluation step rows (steps 0, 1, ... of their own counter) go out just before the
    training row that follows them, so a backend's last step at a checkpoint is a training
    step and a resume keeps every training row."""

    def run(root, max_epochs, ckpt_path=None, checkpointing=False):
        callbacks = [ModelCheckpoint(save_top_k=-1)] if checkpointing else []
        make_trainer(default_root_dir=str(root), loggers=["csv"], max_epochs=max_epochs,
                     callbacks=callbacks).fit(StepValidation(), loader(16), loader(8),
                                              ckpt_path=ckpt_path)
        table = as_numbers(read_csv(root))
        return ([r for r in table if r["epoch"] is not None],
                [r["step"] for r in table if r["epoch"] is None])

    expected, evaluation = run(tmp_path / "reference", 4)
    assert evaluation == list(range(8))  # 2 validation batches in each of 4 passes
    root = tmp_path / "resumed"
    run(root, 3, checkpointing=True)
    training, _ = run(root, 4, ckpt_path=root / "checkpoints" / "epoch=1-step=8.ckpt")
    assert training == [pytest.approx(row) for row in expected]
