"""FanLogger under Lightning's own DDP (two CPU processes, gloo): rank 0 alone logs, into
the one folder every rank's ModelCheckpoint agrees on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.integrations.support import ROOT, read_csv

SCRIPT = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, {root!r})
    import lightning.pytorch as pl
    from fanlog.integrations.lightning import FanLogger
    from tests.integrations.lightning.models import loader, tiny_module, trainer_kwargs

    if __name__ == "__main__":  # ddp_spawn's children import this file
        fan = FanLogger(["csv"], save_dir="logs")
        trainer = pl.Trainer(logger=fan, **trainer_kwargs(".", strategy="{strategy}", devices=2))
        trainer.fit(tiny_module(pl.LightningModule), loader())
        if trainer.is_global_zero:
            json.dump({{"log_dir": fan.log_dir, "world": trainer.world_size,
                        "best": trainer.checkpoint_callback.best_model_path}},
                      open("result.json", "w"))
""")


@pytest.mark.slow
@pytest.mark.distributed
@pytest.mark.parametrize("strategy", ["ddp", "ddp_spawn"])
def test_ddp_rank_zero_logs_once_per_step(tmp_path, strategy):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(root=str(ROOT), strategy=strategy))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANLOG_")}
    env.update(OMP_NUM_THREADS="1", PL_DISABLE_FORK="1")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, timeout=240,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    result = json.loads((tmp_path / "result.json").read_text())
    assert result["world"] == 2
    log_dir = tmp_path / result["log_dir"]
    assert log_dir == tmp_path / "logs" / "lightning_logs" / "version_0"
    # each rank sees 4 of the 8 batches per epoch: 2 epochs x 4 steps, logged by rank 0 once
    assert sorted(read_csv(log_dir / "metrics.csv")) == list(range(8))
    assert sorted(p.name for p in (tmp_path / "logs" / "lightning_logs").iterdir()) == \
        ["version_0"]  # the other rank claimed no folder
    assert Path(tmp_path / result["best"]).parent == log_dir / "checkpoints"
    assert done.stderr.count("fanlog run summary") == 1
