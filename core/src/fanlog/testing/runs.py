"""A tiny training run that drives every logger hook, and a two-process gloo runner."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

from fanlog.ports import free_port


def fake_training_run(fan: Any, steps: int = 20, log_every: int = 5) -> dict[str, Any]:
    """Train a small model for ``steps`` steps through the fan-out ``fan`` (a
    :class:`fanlog.FanOut`), calling every logger hook once or more; returns what was sent
    (metrics by name as ``[(step, value)]``, the hyperparameters, the artifact path)."""
    import numpy as np
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    params = {"lr": 0.1, "model": {"hidden": 8, "act": "tanh"}, "steps": steps}
    sent: dict[str, Any] = {"params": params, "metrics": {"loss": [], "lr": []}}
    fan.log_hyperparams(params)
    fan.log_graph(model, x[:1])
    fan.watch(model, log="all", log_freq=log_every)
    for step in range(steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % log_every == 0:
            value = loss.item()
            fan.log_metrics({"loss": loss.detach(), "lr": 0.1}, step=step)
            sent["metrics"]["loss"].append((step, value))
            sent["metrics"]["lr"].append((step, 0.1))
    last = steps - 1
    fan.log_text("samples", f"prediction at step {last}", last)
    fan.log_image("inputs", np.linspace(0, 1, 3 * 8 * 8, dtype=np.float32).reshape(3, 8, 8),
                  last, "CHW")
    fan.log_histogram("weights", model[0].weight.detach(), last)
    fan.log_audio("tone", np.sin(np.linspace(0, 100, 800, dtype=np.float32)), last, 8000)
    try:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot([v for _, v in sent["metrics"]["loss"]])
        fan.log_figure("loss_curve", fig, last)
    except ImportError:
        pass
    folder = tempfile.mkdtemp(prefix="fanlog-fake-run-")
    path = os.path.join(folder, "model.ckpt")
    torch.save(model.state_dict(), path)
    fan.log_artifact(path, "model.ckpt", {"kind": "checkpoint", "step": last})
    sent["artifact"] = path
    fan.flush()
    return sent


def _gloo_worker(rank: int, world: int, port: int, fn: Callable, args: tuple, results) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        results.put((rank, fn(rank, world, *args)))
    finally:
        dist.destroy_process_group()


def run_gloo(fn: Callable[..., Any], *args: Any, world_size: int = 2,
             timeout: float = 120.0) -> list[Any]:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` spawned CPU processes joined by
    gloo; return each rank's result in rank order. ``fn`` must be importable (module level)."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_gloo_worker, args=(r, world_size, port, fn, args, results))
             for r in range(world_size)]
    for p in procs:
        p.start()
    try:
        out = dict(results.get(timeout=timeout) for _ in procs)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise RuntimeError(f"gloo worker(s) exited with {bad}")
    return [out[r] for r in range(world_size)]
