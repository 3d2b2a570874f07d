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
