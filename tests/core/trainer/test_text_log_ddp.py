"""With 2 processes, the text log prints a synced metric's synced value: the one the
backends receive at that step (not rank 0's own)."""

from __future__ import annotations

import csv
import re

import pytest

from fanlog.trainer import Trainer
from tests.core.trainer.trainer_models import Regression, batch_value, loader

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


class Synced(Regression):
    def training_step(self, batch, batch_idx):
        x, _ = batch
        value = batch_value(x)  # differs between the ranks' shards
        self.log("c_sum", value, sync_dist=True)
        self.log("c_own", value)
        return super().training_step(batch, batch_idx)


def test_text_log_prints_the_synced_value(tmp_path):
    root = tmp_path / "root"
    trainer = Trainer(devices=2, accelerator="cpu", max_epochs=1, loggers=["csv"],
                      log_every_n_steps=2, default_root_dir=str(root),
                      enable_progress_bar=False, logger_options={"summary": False},
                      start_method="fork")
    trainer.fit(Synced(), loader(32, 4))  # 4 batches per rank
    with open(root / "fanlog" / "version_0" / "metrics.csv", newline="") as fh:
        rows = {int(r["step"]): r for r in csv.DictReader(fh)}
    text = (root / "run.log").read_text(encoding="utf-8")
    shown = {int(m[1]): (m[2], m[3]) for m in re.finditer(
        r"\[(\d)/4\].*  c_sum: (\S+)  c_own: (\S+)", text)}
    assert sorted(shown) == [2, 4]
    for step, (synced, own) in shown.items():
        assert synced == f"{float(rows[step]['c_sum']):.4f}"
        assert own == f"{float(rows[step]['c_own']):.4f}"  # rank 0's: not synced
        assert synced != own
