"""The metrics engine behind ``self.log``: a few microseconds per call, one host transfer per
logging step, O(1) memory per metric.

A call only files a reference to the (detached) value under a slot cached by the metric's
name and options; nothing is validated after the first call for a name but the value's
type, and nothing leaves the device. When a logging step or an epoch end needs numbers,
every value waiting since the last time goes to the host in one :func:`to_host` call, and
epoch statistics and text-log windows are folded from plain Python floats (float64).
Values waiting between logging steps are bounded (``max_pending``), so memory stays flat.

``sync_dist`` packs every metric that needs it into one buffer per reduction (a SUM and a
MAX buffer, min travelling negated in the MAX one), so syncing costs at most two
collectives per logging step or epoch end, whatever the number of metrics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
import torch.distributed as dist

from fanlog import validate
from fanlog.history import History, Stats

Tensor = torch.Tensor
Reduce = str | Callable[[Tensor], Any]

#: Names the trainer adds itself to what it logs.
RESERVED = frozenset({"epoch", "step"})
#: Hooks whose values default to ``on_step=True, on_epoch=False`` (Lightning's defaults);
#: every other hook (evaluation steps, epoch hooks) defaults to the epoch.
STEP_HOOKS = frozenset({
    "training_step", "on_train_batch_start", "on_train_batch_end", "on_before_backward",
    "on_after_backward", "on_before_optimizer_step",
})
#: Hooks that cannot log (Lightning raises there too): the run's last values went out.
UNLOGGABLE_HOOKS = frozenset({"on_fit_end"})
_REDUCTIONS = {"mean": "mean", "sum": "sum", "max": "max", "min": "min",
               torch.mean: "mean", torch.sum: "sum", torch.max: "max", torch.min: "min",
               max: "max", min: "min", sum: "sum"}


class _Slot:
    """One metric as logged from one hook: its options, resolved once, and its state."""

    __slots__ = ("args", "current", "epoch", "epoch_name", "history", "hook", "kept", "last",
                 "logger", "name", "on_epoch", "on_step", "options", "prog_bar", "reduce",
                 "stage", "step_name", "sync_dist", "tick", "values", "weighted")

    def add(self, value: float, weight: float) -> None:
        self.last = value
        if self.values is not None:
            self.values.append(value)
        elif self.epoch is not None:
            self.epoch.add(value, weight)
        if self.history is not None:
            self.history.update(value)

    def epoch_result(self) -> float:
        if self.values is not None:
            return float(self.reduce(torch.tensor(self.values, dtype=torch.float64)))
        return self.epoch.result(self.reduce)

    def reset_epoch(self) -> None:
        if self.values is not None:
            self.values.clear()
        elif self.epoch is not None:
            self.epoch.reset()


def to_host(tensors: list[Tensor]) -> list[float]:
    """The one path from tensors to Python floats: per device, one stacked transfer (CPU
    tensors are read in place, which is no transfer and cheaper than stacking)."""
    if all(t.is_cpu for t in tensors):
        return [float(t.item()) for t in tensors]
    if all(t.device == tensors[0].device for t in tensors):
        groups = {tensors[0].device: list(range(len(tensors)))}
    else:
        groups = {}
        for i, t in enumerate(tensors):
            groups.setdefault(t.device, []).append(i)
    out = [0.0] * len(tensors)
    for device, idx in groups.items():
        if device.type == "cpu":
            for i in idx:
                out[i] = float(tensors[i].item())
            continue
        dtype = torch.float32 if device.type == "mps" else torch.float64
        stacked = torch.stack([tensors[i] for i in idx]).to(dtype)
        for i, number in zip(idx, stacked.tolist(), strict=True):
            out[i] = number
    return out


def batch_size_of(batch: Any) -> int:
    """Lightning's rule: the first dimension of the first tensor found in the batch (1 when
    there is none)."""
    if isinstance(batch, Tensor):
        return int(batch.shape[0]) if batch.ndim else 1
    items: Iterable[Any] = ()
    if isinstance(batch, Mapping):
        items = batch.values()
    elif isinstance(batch, list | tuple):
        items = batch
    for item in items:
        if isinstance(item, Tensor | Mapping | list | tuple):
            return batch_size_of(item)
    return 1


class MetricsEngine:
    """Records ``self.log`` values and turns them into what backends, callbacks and the
    progress bar read. The trainer drives it: :meth:`enter` before each hook,
    :meth:`begin_batch` per batch, :meth:`collect_step` at logging steps and
    :meth:`collect_epoch` at epoch ends."""

    def __init__(self, window_size: int = 10, history_totals: bool = False,
                 world_size: int = 1, sync_device: torch.device | str = "cpu",
                 max_pending: int = 4096) -> None:
        self.window_size = window_size
        self.history_totals = history_totals
        self.world_size = world_size
        self.sync_device = torch.device(sync_device)
        self.max_pending = max_pending
        self.stage, self.hook = "train", "training_step"
        self.tick = 0
        #: Latest value of every metric, by output name (and the plain name as an alias).
        self.callback_metrics: dict[str, float] = {}
        #: Latest value of every ``prog_bar`` metric, by output name.
        self.progress_bar_metrics: dict[str, float] = {}
        #: Per training-metric history for the text log, by plain name.
        self.histories: dict[str, History] = {}
        self._tables: dict[tuple[str, str], dict[tuple, _Slot]] = {}
        self._slots = self._table("train", "training_step")
        self._by_name: dict[tuple[str, str, str], _Slot] = {}
        self._step_slots: list[_Slot] = []
        self._epoch_slots: list[_Slot] = []
        self._pending: list[tuple[_Slot, Any, float]] = []
        self._batch: Any = None
        self._batch_size: int | None = None
        self._restored: dict[tuple[str, str, str], list] = {}

    # -- context ---------------------------------------------------------------------------
    def _table(self, stage: str, hook: str) -> dict[tuple, _Slot]:
        return self._tables.setdefault((stage, hook), {})

    def enter(self, stage: str, hook: str) -> None:
        """Values logged from now on come from ``hook`` of ``stage`` (train, validate, test)."""
        self.stage, self.hook = stage, hook
        self._slots = self._table(stage, hook)

    def begin_batch(self, batch: Any) -> None:
        """A new batch: step values from now on belong to it; its size weighs epoch means."""
        self.tick += 1
        self._batch, self._batch_size = batch, None
        if len(self._pending) >= self.max_pending:
            self._drain()

    # -- the hot path ------------------------------------------------------------------------
    def log(self, name: str, value: Any, prog_bar: bool = False, logger: bool = True,
            on_step: bool | None = None, on_epoch: bool | None = None,
            reduce_fx: Reduce = "mean", sync_dist: bool = False,
            rank_zero_only: bool = False, batch_size: int | None = None) -> None:
        """Record one scalar (see :meth:`fanlog.module.Module.log` for the options)."""
        slot = self._slots.get((name, prog_bar, logger, on_step, on_epoch, reduce_fx,
                                sync_dist, rank_zero_only))
        if slot is None:
            slot = self._new_slot(name, prog_bar, logger, on_step, on_epoch, reduce_fx,
                                  sync_dist, rank_zero_only)
        if value.__class__ is Tensor:
            if value.requires_grad:
                value = value.detach()
            if value.ndim or value.is_meta or value.is_complex():
                value = _one_element(name, value)
        elif value.__class__ is not float:
            value = _number(name, value)
        if slot.on_step:
            slot.current = value
            slot.tick = self.tick
        if slot.kept:
            self._pending.append((slot, value, (
                batch_size or self._batch_size or self._infer_batch_size())
                if slot.weighted else 1.0))

    def _infer_batch_size(self) -> int:
        self._batch_size = batch_size_of(self._batch)
        return self._batch_size

    def _new_slot(self, name: str, prog_bar: bool, logger: bool, on_step: bool | None,
                  on_epoch: bool | None, reduce_fx: Reduce, sync_dist: bool,
                  rank_zero_only: bool) -> _Slot:
        """Validate a metric's first call with these options from this hook and cache the
        slot it resolves to under the options as given."""
        key = (name, prog_bar, logger, on_step, on_epoch, reduce_fx, sync_dist, rank_zero_only)
        where = f"self.log({name!r}) in {self.hook}"
        validate.key(name, "metric name")
        if self.hook in UNLOGGABLE_HOOKS:
            raise ValueError(f"{where}: nothing logged in {self.hook} could go out (the "
                             "run's last values already did); log in on_train_epoch_end, "
                             "or send values with trainer.log_metrics(...)")
        if name in RESERVED:
            raise ValueError(f"{where}: {name!r} is reserved (the trainer logs it itself); "
                             f"pick another name. Reserved: {sorted(RESERVED)}")
        step_default = self.hook in STEP_HOOKS
        on_step = step_default if on_step is None else bool(on_step)
        on_epoch = (not step_default) if on_epoch is None else bool(on_epoch)
        if not (on_step or on_epoch):
            raise ValueError(f"{where}: on_step and on_epoch are both False, so the value "
                             "would never be logged")
        reduce = _REDUCTIONS.get(reduce_fx) if _hashable(reduce_fx) else None
        if reduce is None:
            if isinstance(reduce_fx, str) or not callable(reduce_fx):
                raise ValueError(f"{where}: reduce_fx must be one of mean, sum, max, min or a "
                                 f"callable taking a 1-D tensor; got {reduce_fx!r}")
            if sync_dist:
                raise ValueError(f"{where}: sync_dist needs reduce_fx mean, sum, max or min; "
                                 "a custom callable cannot be packed into one collective")
            reduce = reduce_fx
        if sync_dist and rank_zero_only:
            raise ValueError(f"{where}: rank_zero_only values are logged by rank 0 alone, so "
                             "they cannot be synced (sync_dist=True)")
        options = (f"(on_step={on_step}, on_epoch={on_epoch}, reduce_fx={reduce!r}, "
                   f"prog_bar={bool(prog_bar)}, logger={bool(logger)}, sync_dist={sync_dist}, "
                   f"rank_zero_only={rank_zero_only})")
        previous = self._by_name.get((self.stage, self.hook, name))
        if previous is not None:
            if previous.options != options:
                raise ValueError(f"{where} was called with options {options}, but earlier in "
                                 f"the same hook with {previous.options}; a metric keeps its "
                                 "options within a hook")
            self._slots[key] = previous  # the same options, spelled differently
            return previous
        slot = _Slot()
        slot.name, slot.stage, slot.hook, slot.options = name, self.stage, self.hook, options
        slot.prog_bar, slot.logger, slot.sync_dist = bool(prog_bar), bool(logger), sync_dist
        slot.on_step, slot.on_epoch, slot.reduce = on_step, on_epoch, reduce
        both = on_step and on_epoch
        slot.step_name = f"{name}_step" if both else name
        slot.epoch_name = f"{name}_epoch" if both else name
        slot.current, slot.last, slot.tick = None, math.nan, -1
        custom = on_epoch and not isinstance(reduce, str)
        slot.args = None if custom else (bool(prog_bar), bool(logger), on_step, on_epoch, reduce,
                                         sync_dist, rank_zero_only)
        slot.values = [] if custom else None
        slot.epoch = Stats() if on_epoch and not custom else None
        saved = self._restored.pop((self.stage, self.hook, name), None)
        if saved is not None:
            if custom:
                slot.values.extend(saved)
            elif slot.epoch is not None:
                st = slot.epoch
                st.total, st.weight, st.n, st.max, st.min = saved
        slot.weighted = on_epoch and reduce == "mean"
        slot.history = None
        if self.hook in STEP_HOOKS:
            history = self.histories.get(name) or self.histories.setdefault(
                name, History(self.window_size, self.history_totals))
            # a value synced across processes joins the text log's history when it is
            # synced (at logging steps), so the line shows what the backends receive
            if not (sync_dist and on_step and self.world_size > 1):
                slot.history = history
        slot.kept = slot.epoch is not None or slot.values is not None or (
            slot.history is not None)
        self._by_name[(self.stage, self.hook, name)] = slot
        if on_step:
            self._step_slots.append(slot)
        if on_epoch:
            self._epoch_slots.append(slot)
        self._slots[key] = slot
        return slot

    # -- collection ------------------------------------------------------------------------
    def _drain(self, extra: Sequence[Any] = ()) -> list[Any]:
        """Bring every pending value and ``extra`` to the host in ONE :func:`to_host` call,
        fold the pending ones into their slots, and return ``extra`` as floats."""
        pending, self._pending = self._pending, []
        tensors = [v for _, v, _ in pending if v.__class__ is not float]
        n = len(tensors)
        extra_floats = list(extra)
        extra_idx = [i for i, v in enumerate(extra_floats) if v.__class__ is not float]
        tensors += [extra_floats[i] for i in extra_idx]
        host = to_host(tensors) if tensors else []
        numbers = iter(host)
        for slot, value, weight in pending:
            slot.add(value if value.__class__ is float else next(numbers), weight)
        for i, number in zip(extra_idx, host[n:], strict=True):
            extra_floats[i] = number
        return extra_floats

    def collect_step(self) -> dict[str, float]:
        """This batch's ``on_step`` values not collected yet: published to callback /
        progress-bar metrics and returned for the backends (``logger=True`` ones). Drains
        pending values too, so a logging step costs one transfer in all. Values logged
        later in the same batch are collected by the next call."""
        slots = [s for s in self._step_slots if s.tick == self.tick]
        # values of kept slots arrive with the pending ones (slot.last); the rest, and the
        # synced ones, travel as extras in the same transfer
        direct = [s for s in slots if s.sync_dist or not s.kept]
        values = [s.current for s in direct]
        if self.world_size > 1:
            values = self._sync_step(direct, values)
        for slot, value in zip(direct, self._drain(values), strict=True):
            slot.last = value
            if slot.sync_dist and self.world_size > 1 and slot.hook in STEP_HOOKS:
                self.histories[slot.name].update(value)
        out: dict[str, float] = {}
        for slot in slots:
            self._publish(slot, slot.step_name, slot.last, out)
            slot.tick = -1
        return out

    def latest_histories(self) -> dict[str, History]:
        """The training metrics' histories with every value logged so far (pending ones
        are folded in: one transfer), for a text-log line between logging steps."""
        if self._pending:
            self._drain()
        return self.histories

    def refresh_step(self, only_prog_bar: bool = True) -> None:
        """Update the progress-bar (or all callback) metrics with this batch's step values
        without logging them: one transfer, for callers that need fresh numbers between
        logging steps (a progress bar on a timer, a per-step scheduler monitor)."""
        slots = [s for s in self._step_slots
                 if s.tick == self.tick and (s.prog_bar or not only_prog_bar)]
        values = [s.current for s in slots]
        tensors = [v for v in values if v.__class__ is not float]
        numbers = iter(to_host(tensors) if tensors else [])
        for slot, value in zip(slots, values, strict=True):
            self._publish(slot, slot.step_name,
                          value if value.__class__ is float else next(numbers), {})

    def collect_epoch(self, stage: str, hook: str | None = None) -> dict[str, float]:
        """Reduce the epoch of ``stage`` (synced across ranks where asked), publish it,
        reset it, and return what goes to the backends. With ``hook``, only the values
        logged from it (callbacks' epoch-end values, after the stage's collection)."""
        self._drain()
        slots = [s for s in self._epoch_slots
                 if s.stage == stage and (hook is None or s.hook == hook)]
        if self.world_size > 1:
            self._sync_epoch([s for s in slots if s.sync_dist])
        out: dict[str, float] = {}
        for slot in slots:
            if slot.values if slot.values is not None else slot.epoch.n:
                self._publish(slot, slot.epoch_name, slot.epoch_result(), out)
            slot.reset_epoch()
        if stage == "train" and self.history_totals:
            for history in self.histories.values():
                history.epoch.reset()
        return out

    def _publish(self, slot: _Slot, name: str, value: float, out: dict[str, float]) -> None:
        self.callback_metrics[name] = value
        if name != slot.name:
            self.callback_metrics[slot.name] = value
        if slot.prog_bar:
            self.progress_bar_metrics[name] = value
        if slot.logger:
            out[name] = value

    def state_dict(self) -> dict[str, Any]:
        """The epoch so far, for a checkpoint taken mid-epoch (values are drained first),
        with each metric's options (None for a custom ``reduce_fx``)."""
        self._drain()
        epochs = {}
        for s in self._epoch_slots:
            key = "\x1f".join((s.stage, s.hook, s.name))
            epochs[key] = {"options": s.args, "stats": list(s.values) if s.values is not None
                           else [s.epoch.total, s.epoch.weight, s.epoch.n, s.epoch.max,
                                 s.epoch.min]}
        return {"epoch": epochs}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue the epoch saved by :meth:`state_dict`: its metrics are restored at once,
        so the epoch's values exist even if no batch of it is left to run (a metric with a
        custom ``reduce_fx`` is restored when it is logged again)."""
        self._restored = {tuple(k.split("\x1f")): v["stats"] for k, v in state["epoch"].items()}
        where = self.stage, self.hook
        for key, saved in state["epoch"].items():
            if saved["options"] is not None:
                stage, hook, name = key.split("\x1f")
                self.enter(stage, hook)
                self._new_slot(name, *saved["options"])
        self.enter(*where)

    def logged_names(self) -> list[str]:
        """Every metric name logged so far (for error messages)."""
        return sorted(self.callback_metrics)

    # -- distributed -------------------------------------------------------------------------
    def _sync_step(self, slots: list[_Slot], values: list[Any]) -> list[Any]:
        """Reduce this step's ``sync_dist`` values across ranks: one SUM collective for mean
        and sum, one MAX for max and (negated) min."""
        values = list(values)
        adds = [i for i, s in enumerate(slots) if s.sync_dist and s.reduce in ("mean", "sum")]
        if adds:
            buf = self._pack([values[i] for i in adds])
            dist.all_reduce(buf, op=dist.ReduceOp.SUM)
            for i, total in zip(adds, self._unpack(buf), strict=True):
                values[i] = total / self.world_size if slots[i].reduce == "mean" else total
        highs = [i for i, s in enumerate(slots) if s.sync_dist and s.reduce == "max"]
        lows = [i for i, s in enumerate(slots) if s.sync_dist and s.reduce == "min"]
        if highs or lows:
            buf = self._pack([values[i] for i in highs + lows])
            buf[len(highs):].neg_()
            dist.all_reduce(buf, op=dist.ReduceOp.MAX)
            buf[len(highs):].neg_()
            for i, value in zip(highs + lows, self._unpack(buf), strict=True):
                values[i] = value
        return values

    def _sync_epoch(self, slots: list[_Slot]) -> None:
        """Make each slot's epoch statistics global: totals, weights and counts in one SUM
        buffer, max and negated min in one MAX buffer. Every rank must log the same synced
        names (the buffer layout follows the sorted names)."""
        if not slots:
            return
        slots = sorted(slots, key=lambda s: (s.hook, s.name))
        stats = [s.epoch for s in slots]
        sums = torch.tensor([x for st in stats for x in (st.total, st.weight, st.n)],
                            dtype=torch.float64, device=self.sync_device)
        highs = torch.tensor([x for st in stats for x in (st.max, -st.min)],
                             dtype=torch.float64, device=self.sync_device)
        dist.all_reduce(sums, op=dist.ReduceOp.SUM)
        dist.all_reduce(highs, op=dist.ReduceOp.MAX)
        totals, extremes = sums.tolist(), highs.tolist()
        for k, st in enumerate(stats):
            st.total, st.weight, st.n = totals[3 * k], totals[3 * k + 1], int(totals[3 * k + 2])
            st.max, st.min = extremes[2 * k], -extremes[2 * k + 1]

    def _pack(self, values: list[Any]) -> Tensor:
        dtype = torch.float32 if self.sync_device.type == "mps" else torch.float64
        device = self.sync_device
        if all(v.__class__ is Tensor and v.device == device for v in values):
            return torch.stack(values).to(dtype)  # one op for the lot, not two per value
        return torch.stack([torch.as_tensor(v, dtype=dtype).to(device) for v in values])

    @staticmethod
    def _unpack(buf: Tensor) -> list[Any]:
        """A reduced buffer's values: floats on the CPU (reading them is no transfer), else
        views of ``buf`` that go to the host with the step's other values, in one transfer."""
        return buf.tolist() if buf.is_cpu else list(buf.unbind())


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _one_element(name: str, value: Tensor) -> Tensor:
    """A tensor as the 0-d value to keep, or an error naming the metric."""
    problem = validate.tensor_problem(value)
    if problem:
        raise TypeError(f"self.log({name!r}): the value {problem}")
    return value.reshape(()) if value.ndim else value


def _number(name: str, value: Any) -> Any:
    """The slow path for anything but a plain tensor or float: validate and normalise."""
    if isinstance(value, Tensor):
        return _one_element(name, value.detach())
    return validate.number(f"self.log({name!r})", value)
