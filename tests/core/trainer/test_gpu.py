"""On CUDA: logging never synchronises, and a logging step makes ONE device-to-host copy
for all its values. Skipped without a GPU."""

from __future__ import annotations

import warnings

import pytest
import torch

from fanlog.metrics import MetricsEngine
from tests.core.trainer.trainer_models import Regression, loader

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def synchronisations(fn):
    """How many synchronising CUDA calls ``fn`` makes (torch's sync debug mode)."""
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def test_one_copy_per_logging_step():
    engine = MetricsEngine()
    engine.enter("train", "training_step")
    x = torch.randn(256, device="cuda", requires_grad=True)

    def log_a_step():
        engine.begin_batch(None)
        for i in range(10):
            engine.log(f"m{i}", (x * i).mean(), on_epoch=i % 2 == 0)

    for _ in range(5):
        assert synchronisations(log_a_step) == 0
    assert synchronisations(engine.collect_step) == 1  # 60 values, one transfer
    out = engine.collect_step()
    assert set(out) >= {"m1", "m0_step"}


def test_fit_on_cuda(tmp_path, recorder):
    from fanlog.trainer import Trainer

    trainer = Trainer(max_epochs=1, accelerator="cuda", loggers=[recorder],
                      default_root_dir=str(tmp_path), enable_progress_bar=False,
                      log_every_n_steps=2, logger_options={"summary": False})
    module = Regression()
    trainer.fit(module, loader(32), loader(8))
    assert next(module.parameters()).device.type == "cuda"
    assert [s for s, _ in recorder.metrics] == [2, 4, 6, 8]
    assert all(type(v) is float for _, m in recorder.metrics for v in m.values())
