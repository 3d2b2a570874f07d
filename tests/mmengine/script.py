"""One scripted run, played through MMEngine 0.10.7's real Runner and through fanlog's
Trainer: the same values, the same learning-rate schedule and the same clock.

The clock is a counter that only the script moves: loading a batch moves it by that batch's
data time, a step by its compute time. Both frameworks read it where they read their own
clocks (MMEngine's IterTimerHook, fanlog's iteration timer), so both measure the same
durations. Values are float32 tensors, as a model returns them, so both read the same
numbers; a value is a function of how many times that stage has run a batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Clock:
    """Seconds that pass only when the script says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Scenario:
    """What both runs are given. ``values`` maps a training metric to f(k), k the global
    iteration (from 0); ``val``/``test`` map evaluation metrics to f(k) per batch."""

    by_epoch: bool = True
    epochs: int = 2
    iters: int = 60                 # by_epoch=False: iterations; val every ``val_every``
    val_every: int = 10
    train_len: int = 25
    val_len: int = 25
    test_len: int = 15
    interval: int = 10
    ignore_last: bool = True
    exp_every: int = 1000            # LoggerHook's interval_exp_name
    window_size: int | str = 10
    custom_cfg: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    hub_values: dict[str, Any] = field(default_factory=dict)   # MessageHub / log_scalar
    val: dict[str, Any] = field(default_factory=dict)
    test: dict[str, Any] = field(default_factory=dict)
    lr: float = 0.01
    step_size: int = 3               # the lr halves every ``step_size`` iterations
    validate: bool = True
    run_test: bool = True


def data_time(stage: str, k: int) -> float:
    return {"train": 0.0021, "val": 0.0011, "test": 0.0013}[stage] * (1 + k % 3)


def step_time(stage: str, k: int) -> float:
    return {"train": 0.173, "val": 0.051, "test": 0.047}[stage] * (1 + k % 4) + 0.0003 * k


class Playback:
    """Advances the clock for each batch and counts the batches of each stage."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.loaded = {"train": 0, "val": 0, "test": 0}
        self.stepped = {"train": 0, "val": 0, "test": 0}

    def load(self, stage: str) -> None:
        self.clock.advance(data_time(stage, self.loaded[stage]))
        self.loaded[stage] += 1

    def step(self, stage: str) -> int:
        k = self.stepped[stage]
        self.clock.advance(step_time(stage, k))
        self.stepped[stage] += 1
        return k


class ClockedDataset:
    """A map-style dataset whose items cost the stage's scripted data time."""

    def __init__(self, n: int, stage: str, playback: Playback, item: Any) -> None:
        self.n, self.stage, self.playback, self.item = n, stage, playback, item

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        self.playback.load(self.stage)
        return self.item(i)

    def __deepcopy__(self, memo: dict) -> ClockedDataset:
        return self  # MMEngine deep-copies its dataloader configs: keep the one clock
