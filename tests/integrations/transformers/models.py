"""A tiny GPT-2 built from a config in code (nothing downloaded) and a fixed dataset."""

from __future__ import annotations

from typing import Any

import torch


def tiny_model() -> Any:
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=32, n_positions=16, n_embd=16, n_layer=1, n_head=2)
    return GPT2LMHeadModel(config)


class Tokens(torch.utils.data.Dataset):
    """``n`` fixed sequences of 8 token ids, each its own label."""

    def __init__(self, n: int = 16) -> None:
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(0, 32, (n, 8), generator=g)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def training_args(output_dir: Any, **extra: Any) -> Any:
    """CPU, no reporting integrations, every step logged, a checkpoint every 4 steps."""
    from transformers import TrainingArguments

    kwargs = {"output_dir": str(output_dir), "report_to": "none", "use_cpu": True,
              "per_device_train_batch_size": 4, "num_train_epochs": 2, "logging_steps": 1,
              "save_strategy": "steps", "save_steps": 4, "disable_tqdm": True,
              "learning_rate": 1e-3, "seed": 0, **extra}
    return TrainingArguments(**kwargs)
