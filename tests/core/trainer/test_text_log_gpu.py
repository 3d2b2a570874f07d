"""On CUDA the text log's iteration lines carry MMEngine's ``memory`` field: the most
memory allocated since the previous line, in MB. Skipped without a GPU."""

from __future__ import annotations

import re

import pytest
import torch

from fanlog.trainer import Trainer
from tests.core.trainer.trainer_models import Regression, loader

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class Hungry(Regression):
    """Allocates 64 MB more in each step than the model needs."""

    def training_step(self, batch, batch_idx):
        scratch = torch.empty(64 * 2**20, dtype=torch.uint8, device=self.net.weight.device)
        del scratch
        return super().training_step(batch, batch_idx)


def test_memory_field_on_cuda(tmp_path):
    trainer = Trainer(max_epochs=1, accelerator="cuda", loggers=False,
                      default_root_dir=str(tmp_path), enable_progress_bar=False,
                      log_every_n_steps=2)
    trainer.fit(Hungry(), loader(16), loader(8))
    text = (tmp_path / "run.log").read_text(encoding="utf-8")
    train = re.findall(r"Epoch\(train\) \[1\]\[\d/4\]  lr: .*  data_time: \d\.\d{4}  "
                       r"memory: (\d+)  loss: ", text)
    assert len(train) == 2 and all(64 <= int(mb) < 1024 for mb in train)
    assert re.search(r"Epoch\(val\) \[1\]\[2/2\]    eta: .*  data_time: \d\.\d{4}  "
                     r"memory: \d+  \n", text)
