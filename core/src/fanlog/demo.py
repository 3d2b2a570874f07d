"""``fanlog demo``: a small model trained in a plain PyTorch loop, logged through the fan-out.

It shows the few lines a plain loop needs, and is the README's main job: console, csv,
and TensorBoard and MLflow (on SQLite) when their plugins are installed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fanlog.config import cli_namespace
from fanlog.plugins import discover

DEMO_LOGGERS = ("console", "csv", "tensorboard", "mlflow")


def default_loggers() -> list[str]:
    """The embedded defaults that are installed here, in fan-out order."""
    installed = set(discover().plugins)
    return [name for name in DEMO_LOGGERS if name in installed]


def run_demo(args: argparse.Namespace, argv: list[str]) -> int:
    import torch

    from fanlog import FanOut, Status

    names, _ = cli_namespace(args)
    loggers = None if names is not None else default_loggers()
    save_dir = Path(args.save_dir).resolve()
    torch.manual_seed(0)
    x = torch.randn(512, 8)
    y = (x @ torch.randn(8, 1) + 0.1 * torch.randn(512, 1)).squeeze(1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)

    with FanOut(loggers, cli_args=argv, run_defaults={"save_dir": str(save_dir), "name": "demo"},
                ) as run:
        run.log_hyperparams({"model": {"hidden": 32, "layers": 2}, "lr": 0.05,
                             "steps": args.steps})
        for step in range(args.steps):
            idx = torch.randint(0, 512, (32,))
            pred = model(x[idx]).squeeze(1)
            loss = torch.nn.functional.mse_loss(pred, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % args.log_every == 0 or step == args.steps - 1:
                run.log_metrics({"train/loss": loss.detach(), "lr": opt.param_groups[0]["lr"]},
                                step=step)
        summary = run.finalize(Status.SUCCESS)
    print(f"\nLogs under {save_dir}:")
    for name, backend in run.backends.items():
        print(f"  {name}: {_how_to_open(name, backend, save_dir)}")
    return 0 if summary.complete else 1


def _how_to_open(name: str, backend: object, save_dir: Path) -> str:
    if name == "tensorboard":
        return f"tensorboard --logdir {save_dir}"
    if name == "mlflow":
        uri = getattr(backend, "tracking_uri", None) or f"sqlite:///{save_dir}/mlflow.db"
        return f"mlflow ui --backend-store-uri {uri}"
    if name == "csv":
        return str(getattr(backend, "metrics_file", save_dir))
    return "printed above" if name == "console" else str(getattr(backend, "log_dir", save_dir))
