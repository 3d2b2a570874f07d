"""Case 4: the fan-out's cost to the training loop as backends are added, fast or slow.

A plain PyTorch loop trains the tiny MLP and calls ``FanOut.log_metrics`` with 10 tensor
values at every step, fanned out to 1, 2, 4 or 8 backends that each take 0 (no-op), 5 ms or
50 ms per call, like a remote tracking server. Measured in the caller: the time inside
``log_metrics`` per step (conversion and enqueue; its mean over the loop, so it includes
waiting for the GIL while workers run) and the whole loop's time per step. Slow backends
still have most of their calls queued when the loop ends; that is not the caller's time
(they are then sped up and drained, and the run must be complete).

Targets: a slow backend costs the caller no more than a no-op one (50 ms / no-op, same
number of backends, <= 1.5x), and 8 backends of 50 ms cost the caller at most 2x one
no-op backend per logging call, and the loop at most 1.2x.
"""

from __future__ import annotations

import time
from typing import Any

from common import METRICS, interleaved, metric_values, model, stats, target, tmpdir

TITLE = "Fan-out scaling: 1-8 backends, some slow"
COUNTS = (1, 2, 4, 8)
DELAYS = {"no-op": 0.0, "5 ms": 0.005, "50 ms": 0.05}


class Sleeper:
    """A backend taking ``delay`` seconds per call (0: returns at once)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0

    def log_metrics(self, metrics, step):
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)


def loop(steps: int, backends: list[Sleeper] | None) -> tuple[float, float, int]:
    """(loop seconds per step, log_metrics seconds per step, calls pending at the end)."""
    import torch

    from fanlog import FanOut

    fan = FanOut(backends, summary=False) if backends is not None else None
    net = model()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 32, generator=g)
    y = x.sum(dim=1, keepdim=True)
    names = [f"m{i}" for i in range(METRICS)]
    in_log = 0.0
    start = time.perf_counter()
    for step in range(steps):
        loss = torch.nn.functional.mse_loss(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if fan is not None:
            metrics = dict(zip(names, metric_values(loss), strict=True))
            t = time.perf_counter()
            fan.log_metrics(metrics, step=step)
            in_log += time.perf_counter() - t
    per_step = (time.perf_counter() - start) / steps
    pending = 0
    if fan is not None:
        pending = sum(o.stats.received - o.stats.delivered for o in fan.outlets.values())
        for backend in backends:
            backend.delay = 0.0  # drain what is queued at full speed
        summary = fan.finalize()
        assert summary.complete, summary.format()
        assert all(b.calls == steps for b in backends)
    return per_step, in_log / steps, pending


def run(quick: bool) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    steps, repeats = (100, 2) if quick else (300, 5)
    configs: dict[str, Any] = {"no logging": lambda: loop(steps, None)}
    for label, delay in DELAYS.items():
        for n in COUNTS:
            configs[f"{label} x{n}"] = (
                lambda d=delay, n=n: loop(steps, [Sleeper(d) for _ in range(n)]))
    with tmpdir():
        got = interleaved(configs, repeats)
    step_t = {k: stats([r[0] for r in v]) for k, v in got.items()}
    call_t = {k: stats([r[1] for r in v]) for k, v in got.items()}
    pending = {k: max(r[2] for r in v) for k, v in got.items()}
    base_call = call_t["no-op x1"]["median"]
    base_step = step_t["no-op x1"]["median"]
    rows = []
    for k in configs:
        rows.append([k, _us(call_t[k]), f"{call_t[k]['median'] / base_call:.2f}x",
                     _us(step_t[k]), f"{step_t[k]['median'] / base_step:.2f}x", pending[k]])
    targets = []
    for n in COUNTS:
        ratio = call_t[f"50 ms x{n}"]["median"] / call_t[f"no-op x{n}"]["median"]
        targets.append(target(f"{n} backend(s): log_metrics time, 50 ms / no-op", ratio, 1.5))
    targets.append(target("log_metrics time, 8 x 50 ms / 1 no-op",
                          call_t["50 ms x8"]["median"] / base_call, 2.0))
    targets.append(target("loop time per step, 8 x 50 ms / 1 no-op",
                          step_t["50 ms x8"]["median"] / base_step, 1.2))
    return {
        "title": TITLE,
        "what": (f"{steps} steps, {METRICS} tensor metrics logged every step, {repeats} "
                 "interleaved repeats (medians, min-max), µs per step."),
        "tables": [{"columns": ["backends", "log_metrics µs", "vs 1 no-op", "loop µs/step",
                                "vs 1 no-op", "calls pending at the end"], "rows": rows}],
        "targets": targets,
        "notes": [],
        "raw": {"call": call_t, "step": step_t, "pending": pending},
        "skipped": None,
    }


def _us(s: dict[str, float]) -> str:
    return f"{s['median'] * 1e6:.1f} ({s['min'] * 1e6:.1f}-{s['max'] * 1e6:.1f})"


def plot(result: dict[str, Any], path: str) -> None:
    import matplotlib.pyplot as plt

    call = result["raw"]["call"]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for label in DELAYS:
        ax.plot(COUNTS, [call[f"{label} x{n}"]["median"] * 1e6 for n in COUNTS], marker="o",
                label=f"{label} per call")
    ax.set_xscale("log", base=2)
    ax.set_xticks(COUNTS, [str(n) for n in COUNTS])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("backends")
    ax.set_ylabel("µs in log_metrics per step")
    ax.set_title("Caller-side cost per logging step")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
