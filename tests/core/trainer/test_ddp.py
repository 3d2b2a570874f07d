"""DDP with 2 CPU processes over gloo: synced metrics equal a single-process reference on
the same data, a logging step costs a constant number of collectives, backends live on
rank 0 only, and DEBUG gives every rank its own text log."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fanlog.callbacks import ModelCheckpoint
from fanlog.trainer import Trainer
from tests.core.trainer.trainer_models import (
    CollectiveCounter,
    SyncMetrics,
    batch_value,
    dataset,
    loader,
)

pytestmark = [pytest.mark.distributed, pytest.mark.slow]
K = 12  # metrics synced per step: the collective count must not depend on it
N, BATCH, EPOCHS, LOG_EVERY = 32, 4, 2, 2  # 4 batches per rank and epoch


def reference_rows():
    """What a single process computes from the same shards: per step the mean (sum, max,
    min) over the two ranks' batches; per epoch over all batches of both."""
    x = dataset(N).tensors[0]
    ranks = [x[r::2] for r in range(2)]  # DistributedSampler without shuffling
    per_step = [[batch_value(shard[i:i + BATCH]).item() for shard in ranks]
                for i in range(0, N // 2, BATCH)]
    rows = {}
    for epoch in range(EPOCHS):
        for i, pair in enumerate(per_step):
            step = epoch * len(per_step) + i + 1
            if step % LOG_EVERY == 0:
                rows[step] = {f"m{k}_step": reduce(pair, k) for k in range(K)}
        end = (epoch + 1) * len(per_step)
        flat = [v for pair in per_step for v in pair]
        rows[end].update({f"m{k}_epoch": reduce(flat, k) for k in range(K)})
        rows[end]["val_value"] = sum(flat) / len(flat)
        rows[end]["val_count"] = float(N)
    return rows


def reduce(values, k):
    kind = ("mean", "sum", "max", "min")[k % 4]
    v = [x + k for x in values]
    return {"mean": sum(v) / len(v), "sum": sum(v), "max": max(v), "min": min(v)}[kind]


def test_two_processes_sync_like_one(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    checkpoint = ModelCheckpoint(monitor="loss")
    trainer = Trainer(devices=2, accelerator="cpu", max_epochs=EPOCHS, loggers=["csv"],
                      log_every_n_steps=LOG_EVERY, default_root_dir=str(root),
                      enable_progress_bar=False, log_level="DEBUG",
                      logger_options={"summary": False},
                      callbacks=[CollectiveCounter(str(root)), checkpoint],
                      start_method="fork")
    module = SyncMetrics(k=K)
    before = [p.detach().clone() for p in module.parameters()]
    trainer.fit(module, loader(N, BATCH), loader(N, BATCH))

    with open(root / "fanlog" / "version_0" / "metrics.csv", newline="") as fh:
        table = {int(r["step"]): r for r in csv.DictReader(fh)}
    expected = reference_rows()
    assert sorted(table) == sorted(expected)
    for step, want in expected.items():
        got = {k: float(table[step][k]) for k in want}
        assert got == pytest.approx(want), step
    assert not (root / "fanlog" / "version_1").exists()  # rank 1 had no backends

    # constant collectives: one SUM and one MAX buffer per logging step and epoch end,
    # whatever K is (K=12 metrics here; each rank the same)
    counts = [json.loads((root / f"collectives_rank{r}.json").read_text()) for r in (0, 1)]
    assert counts[0] == counts[1]
    per_step = {int(s): n for s, n in counts[0].items()}
    assert set(per_step) == set(expected)
    for step, n in per_step.items():
        epoch_end = step % (N // 2 // BATCH) == 0
        # step values (2) + validation epoch (2) + training epoch (2) at an epoch's end
        assert n == (6 if epoch_end else 2), (step, n)

    # the trained weights came back to this process; each rank kept its own text log
    assert any(not torch.equal(p, b) for p, b in zip(module.parameters(), before,
                                                      strict=True))
    assert trainer.global_step == EPOCHS * 4
    assert checkpoint.best_model_path.endswith("epoch=1-step=8.ckpt")  # state came back
    saved = torch.load(checkpoint.best_model_path, weights_only=False)
    assert saved["loggers"]["csv"]["step"] == 6  # the rows sent before it; step 8's row
    assert saved["row"]["step"] == 8 and "m0_epoch" in saved["row"]["metrics"]  # rides along
    assert "Epoch(train) [2][4/4]" in (root / "run.log").read_text()
    assert "DEBUG - rank 1/2 on cpu: fit" in (root / "run_rank1.log").read_text()


def test_torchrun_launch(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(f"""
import sys
sys.path.insert(0, {str(Path(__file__).parents[3])!r})
from fanlog.callbacks import ModelCheckpoint
from fanlog.trainer import Trainer
from tests.core.trainer.trainer_models import Regression, loader
trainer = Trainer(max_epochs=1, loggers=["csv"], default_root_dir={str(tmp_path)!r},
                  enable_progress_bar=False, log_every_n_steps=1,
                  logger_options={{"summary": False}})
trainer.fit(Regression(), loader(16, 4))
print("rank", trainer.global_rank, "of", trainer.world_size, "steps", trainer.global_step)
""")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
         "--master_port=0", "--rdzv-backend=c10d", "--rdzv-endpoint=localhost:0",
         str(script)], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank 0 of 2 steps 2" in done.stdout and "rank 1 of 2 steps 2" in done.stdout
    with open(tmp_path / "fanlog" / "version_0" / "metrics.csv", newline="") as fh:
        assert [int(r["step"]) for r in csv.DictReader(fh)] == [1, 2]


def test_what_spawned_workers_receive_pickles(tmp_path):
    """The default start method pickles the trainer, module and loaders for each worker."""
    import pickle

    from fanlog.callbacks import LearningRateMonitor, ModelCheckpoint, ProgressBar

    trainer = Trainer(devices=2, callbacks=[ProgressBar(), ModelCheckpoint(monitor="loss"),
                                            LearningRateMonitor()],
                      loggers=["csv", {"name": "console", "stream": "stderr"}])
    copy = pickle.loads(pickle.dumps((trainer, SyncMetrics(), loader())))
    assert isinstance(copy[0].callbacks[0], ProgressBar) and copy[0].devices == 2
