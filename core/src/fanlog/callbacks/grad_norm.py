"""Log gradient norms just before the optimizer applies them."""

from __future__ import annotations

from typing import Any

import torch


class GradientNormMonitor:
    """Logs ``grad_<p>_norm_total`` (and ``grad_<p>_norm/<parameter>`` with
    ``per_parameter``), Lightning's names, at logging steps only: the norms stay on the
    device and travel with the step's other values."""

    def __init__(self, norm_type: float = 2.0, per_parameter: bool = False) -> None:
        if norm_type <= 0:
            raise ValueError(f"norm_type must be positive, got {norm_type}")
        self.norm_type = float(norm_type)
        self.per_parameter = per_parameter

    def on_before_optimizer_step(self, trainer: Any, module: Any) -> None:
        if not trainer.logging_this_step:
            return
        named = [(n, p.grad) for n, p in module.named_parameters() if p.grad is not None]
        if not named:
            return
        prefix = f"grad_{self.norm_type}_norm"
        norms = [torch.linalg.vector_norm(g.detach(), self.norm_type) for _, g in named]
        if self.per_parameter:
            for (name, _), norm in zip(named, norms, strict=True):
                module.log(f"{prefix}/{name}", norm, on_step=True, on_epoch=False)
        total = torch.linalg.vector_norm(torch.stack(norms), self.norm_type)
        module.log(f"{prefix}_total", total, on_step=True, on_epoch=False)
