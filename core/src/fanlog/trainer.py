"""The minimal trainer: fit / validate / test loops over a :class:`fanlog.Module`, optimizers
and LR schedulers, gradient accumulation and clipping, checkpoints that resume every
backend's run, and DDP (``torchrun``, or ``devices=N`` local processes).

Backends are reached only through :class:`fanlog.FanOut`, on rank 0. Each logging step
becomes ONE ``log_metrics`` call: everything logged at the same step (the step's values,
then validation and epoch values at an epoch's last step) is merged into one row, so a
step is never written twice; a checkpoint carries the row still being assembled, and a
resumed run sends it. Evaluation step values count their own steps, as in Lightning.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import Any

import pluggy
import torch
from torch.nn.parallel import DistributedDataParallel

from fanlog import distributed, hub, trace
from fanlog.callbacks import ModelCheckpoint, ProgressBar
from fanlog.distributed import World
from fanlog.fanout import FanOut, scalars
from fanlog.hookspecs import CALLBACK_HOOKS, PROJECT, CallbackSpec
from fanlog.logprocessor import LogProcessor
from fanlog.metrics import MetricsEngine
from fanlog.module import Module
from fanlog.textlog import TextLog

log = logging.getLogger("fanlog")
_STAGE_STEP = {"validate": "validation_step", "test": "test_step"}
_STAGE_TEXT = {"train": "train", "validate": "val", "test": "test"}
_STAGE_WORD = {"train": "train", "validate": "validation", "test": "test"}


class CallbackManager(pluggy.PluginManager):
    """Callbacks as pluggy plugins: methods named like a :class:`CallbackSpec` hook are its
    implementations, no marker needed (their argument names are still checked). Hooks run
    in list order (pluggy calls the last registered first, so they register reversed)."""

    def __init__(self, callbacks: Iterable[object] = ()) -> None:
        super().__init__(PROJECT)
        self.add_hookspecs(CallbackSpec)
        trace.install(self, "callbacks")
        for callback in reversed(list(callbacks)):
            self.register(callback)
        self.active = frozenset(
            name for name in CALLBACK_HOOKS if getattr(self.hook, name).get_hookimpls())

    def call(self, hook: str, kwargs: dict[str, Any]) -> None:
        if hook in self.active:
            getattr(self.hook, hook)(**kwargs)

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        if name in CALLBACK_HOOKS and callable(getattr(type(plugin), name, None)):
            return {}
        return None


class _TrainingStep(torch.nn.Module):
    """Routes ``training_step`` through ``forward`` so DDP's gradient hooks see it."""

    def __init__(self, module: Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, batch: Any, batch_idx: int) -> Any:
        return self.module.training_step(batch, batch_idx)


class Trainer:
    """Runs a :class:`fanlog.Module`.

    ``loggers`` takes every selection :class:`fanlog.FanOut` accepts (names, option dicts,
    backend instances; None: config file, environment or the default), a FanOut you own
    (then you finalize it), or False for none. ``logger_options`` are passed to the FanOut
    (``on_error``, ``queue_size``, ...). Step values go out every ``log_every_n_steps``
    optimizer steps. ``log_processor`` formats the text log (``run.log`` under
    ``default_root_dir``, per-rank files at ``log_level="DEBUG"``); ``devices=N`` without a
    launcher starts N local processes.
    """

    def __init__(self, *, max_epochs: int | None = None, max_steps: int = -1,
                 loggers: Any = None, log_every_n_steps: int = 50,
                 callbacks: Iterable[object] | None = None,
                 default_root_dir: str | Path | None = None, devices: int | str = 1,
                 accelerator: str = "auto", val_check_interval: int | float = 1.0,
                 check_val_every_n_epoch: int = 1, gradient_clip_val: float | None = None,
                 gradient_clip_algorithm: str = "norm", accumulate_grad_batches: int = 1,
                 limit_train_batches: int | float = 1.0, limit_val_batches: int | float = 1.0,
                 enable_progress_bar: bool = True, enable_checkpointing: bool = False,
                 log_processor: LogProcessor | None = None, log_level: int | str = "INFO",
                 logger_options: Mapping[str, Any] | None = None,
                 start_method: str = "spawn") -> None:
        if max_epochs is None and max_steps == -1:
            max_epochs = 1000  # Lightning's default when neither is given
        if log_every_n_steps < 1 or accumulate_grad_batches < 1:
            raise ValueError("log_every_n_steps and accumulate_grad_batches must be >= 1")
        if gradient_clip_algorithm not in ("norm", "value"):
            raise ValueError(f"gradient_clip_algorithm must be 'norm' or 'value', got "
                             f"{gradient_clip_algorithm!r}")
        if accelerator not in ("auto", "cpu", "cuda", "gpu"):
            raise ValueError(f"accelerator must be auto, cpu or cuda; got {accelerator!r}")
        self.max_epochs, self.max_steps = max_epochs, max_steps
        self.loggers_selection = loggers
        self.logger_options = dict(logger_options or {})
        self.start_method = start_method
        self.log_every_n_steps = log_every_n_steps
        self.default_root_dir = str(default_root_dir or "fanlog_logs")
        self._run_defaults = {"save_dir": str(default_root_dir)} if default_root_dir else {}
        self.accelerator = "cuda" if accelerator == "gpu" else accelerator
        self.devices = 1 if devices == "auto" else int(devices)
        self.val_check_interval = val_check_interval
        self.check_val_every_n_epoch = check_val_every_n_epoch
        self.gradient_clip_val = gradient_clip_val
        self.gradient_clip_algorithm = gradient_clip_algorithm
        self.accumulate_grad_batches = accumulate_grad_batches
        self.limit_train_batches, self.limit_val_batches = limit_train_batches, limit_val_batches
        self.log_processor = log_processor or LogProcessor()
        self.log_level = log_level
        self.callbacks = list(callbacks or [])
        if enable_checkpointing and not any(isinstance(c, ModelCheckpoint)
                                            for c in self.callbacks):
            self.callbacks.append(ModelCheckpoint())
        self.enable_progress_bar = enable_progress_bar
        # run state
        self.current_epoch = 0
        self.global_step = 0
        self.should_stop = False
        self.logging_this_step = False
        self.stepped_this_batch = False
        self._batch_open = False
        self.world = World()
        self.engine = MetricsEngine()
        self.fan: FanOut | None = None
        self.loggers: list[Any] = []
        self.optimizers: list[torch.optim.Optimizer] = []
        self.lr_scheduler_configs: list[dict[str, Any]] = []
        self.num_training_batches: int | None = None
        self.num_val_batches: int | None = None
        self._cbs = self._checkpoints = CallbackManager()
        self._module: Module | None = None
        self._text: TextLog | None = None
        self._row: dict[str, float] = {}
        self._row_step = -1
        self._eval_rows: list[tuple[int, dict[str, float]]] = []
        self._eval_steps = {"validate": 0, "test": 0}
        self._epoch_done = False
        self._fitting = False
        self._skip_batches = 0
        self._batches_done = 0
        self.batch_idx = -1
        self._outputs: Any = None
        self.device = torch.device("cpu")
        self._planned_batches: int | None = None

    # -- public surface --------------------------------------------------------------------
    @property
    def logger(self) -> Any:
        return self.loggers[0] if self.loggers else None

    @property
    def callback_metrics(self) -> dict[str, float]:
        """The latest value of every logged metric (what checkpoints and schedulers watch).
        During a training batch it includes that batch's step values, read from the device
        on access (this process's, for ``sync_dist`` ones, until the logging step)."""
        if self._batch_open:
            self.engine.refresh_step(only_prog_bar=False)
        return self.engine.callback_metrics

    @property
    def progress_bar_metrics(self) -> dict[str, float]:
        return self.engine.progress_bar_metrics

    @property
    def is_global_zero(self) -> bool:
        return self.world.is_zero

    @property
    def global_rank(self) -> int:
        return self.world.rank

    @property
    def world_size(self) -> int:
        return self.world.size

    def fit(self, module: Module, train_dataloaders: Any, val_dataloaders: Any = None,
            ckpt_path: str | Path | None = None) -> None:
        """Train; with ``ckpt_path``, resume model, optimizer, loop, callbacks and every
        backend's run from that checkpoint."""
        self._launch("fit", module, train_dataloaders, val_dataloaders, ckpt_path)

    def validate(self, module: Module, dataloaders: Any,
                 ckpt_path: str | Path | None = None) -> list[dict[str, float]]:
        """One validation pass; returns ``[metrics]``."""
        return self._launch("validate", module, dataloaders, None, ckpt_path)

    def test(self, module: Module, dataloaders: Any,
             ckpt_path: str | Path | None = None) -> list[dict[str, float]]:
        """One test pass; returns ``[metrics]``."""
        return self._launch("test", module, dataloaders, None, ckpt_path)

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Send metrics to the backends at ``step`` (default: the current step), merged
        with anything else logged at that step. Names and values are checked here, at the
        call."""
        self._emit(scalars(metrics), self.global_step if step is None else step)

    def log_artifact(self, path: str | Path, name: str | None = None,
                     metadata: Mapping[str, Any] | None = None) -> None:
        if self.fan is not None:
            self.fan.log_artifact(path, name, metadata)

    def save_checkpoint(self, path: str | Path) -> None:
        """Write a checkpoint (rank 0; call it on every rank) holding everything a resume
        needs: the backends' run states, which cover the rows already sent, and the rows
        not sent yet (``row``, still being assembled, and ``eval_rows``), which the resumed
        run sends."""
        checkpoint: dict[str, Any] = {
            "epoch": self.current_epoch, "global_step": self.global_step,
            "loop": {"epoch": self.current_epoch + 1 if self._epoch_done else self.current_epoch,
                     "batch": 0 if self._epoch_done else self.batch_idx + 1,
                     "eval_steps": dict(self._eval_steps)},
            "state_dict": self._module.state_dict(),
            "optimizer_states": [o.state_dict() for o in self.optimizers],
            "lr_schedulers": [c["scheduler"].state_dict() for c in self.lr_scheduler_configs],
            "hyper_parameters": dict(self._module.hparams),
            "metrics": [] if self._epoch_done else self._gather(self.engine.state_dict()),
            "loggers": self.fan.state_dict() if self.fan is not None else {},
            "row": {"step": self._row_step, "metrics": dict(self._row)} if self._row else None,
            "eval_rows": [[step, dict(metrics)] for step, metrics in self._eval_rows],
            "callbacks": {},
        }
        self._call("on_save_checkpoint", checkpoint=checkpoint)
        if self.is_global_zero:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            torch.save(checkpoint, path)
            log.debug("checkpoint saved: %s (epoch %d, step %d)", path, self.current_epoch,
                      self.global_step)

    def _gather(self, obj: Any) -> list[Any]:
        """``obj`` of every rank, by rank."""
        if self.world.size == 1:
            return [obj]
        out: list[Any] = [None] * self.world.size
        torch.distributed.all_gather_object(out, obj)
        return out

    def remove_checkpoint(self, path: str | Path) -> None:
        """Delete a checkpoint file once every backend that takes artifacts has had it."""
        if not self.is_global_zero:
            return
        if self.fan is not None and any("log_artifact" in o.hooks
                                        for o in self.fan.outlets.values()):
            self.fan.flush()
        Path(path).unlink(missing_ok=True)

    # -- running ----------------------------------------------------------------------------
    def _launch(self, stage: str, module: Module, loader: Any, val_loader: Any,
                ckpt_path: Any) -> Any:
        self._module = module
        if distributed.world_from_env() is None and self.devices > 1:
            outcome = distributed.spawn(self._run, self.devices, stage, module, loader,
                                        val_loader, ckpt_path, True,
                                        start_method=self.start_method)
            module.load_state_dict(outcome["state_dict"])
            self.engine.callback_metrics.update(outcome["callback_metrics"])
            self.current_epoch, self.global_step = outcome["epoch"], outcome["global_step"]
            self._use_callbacks(self.callbacks)
            self._call("on_load_checkpoint", checkpoint=outcome)
            return outcome["result"]
        return self._run(stage, module, loader, val_loader, ckpt_path)

    def _run(self, stage: str, module: Module, loader: Any, val_loader: Any, ckpt_path: Any,
             spawned: bool = False) -> Any:
        self.world = distributed.world_from_env() or World()
        device = self._device()
        created = distributed.init(self.world, device)
        self._module = module.to(device)
        self.device = device
        self.log_processor.start()
        self.engine = MetricsEngine(window_size=self.log_processor.max_window,
                                    history_totals=self.log_processor.needs_totals,
                                    world_size=self.world.size, sync_device=device)
        self._row, self._row_step, self._eval_rows = {}, -1, []
        self._eval_steps = {"validate": 0, "test": 0}
        self._batch_open = False
        with ExitStack() as stack:
            if created:
                stack.callback(torch.distributed.destroy_process_group)
            self._text = TextLog(self.default_root_dir, self.world.rank, self.log_level)
            stack.callback(self._text.close)
            self._open_fan(stack)
            self._use_callbacks(self._callbacks())
            stack.callback(self._detach)
            module._trainer, module._engine = self, self.engine
            stack.enter_context(hub.activated(self.engine))
            stack.push(self._on_exception)
            log.debug("rank %d/%d on %s: %s", self.world.rank, self.world.size, device, stage)
            checkpoint = self._load(ckpt_path, resume=stage == "fit")
            if self.fan is not None and module.hparams:
                self.fan.log_hyperparams(dict(module.hparams))
            self._fitting = stage == "fit"
            if stage == "fit":
                self._fit(module, loader, val_loader, checkpoint)
                result = None
            else:
                result = [self._evaluate(stage, module, distributed.shard(loader, self.world))]
            self._send_row()
        if not spawned:
            return result
        checkpoint = {"callbacks": {}}
        self._call("on_save_checkpoint", checkpoint=checkpoint)
        return dict(checkpoint, result=result, epoch=self.current_epoch,
                    global_step=self.global_step, callback_metrics=self.callback_metrics,
                    state_dict={k: v.cpu() for k, v in module.state_dict().items()})

    def _device(self) -> torch.device:
        accelerator = self.accelerator
        if accelerator == "auto":
            accelerator = "cuda" if torch.cuda.is_available() else "cpu"
        if accelerator == "cuda":
            return torch.device("cuda", self.world.local_rank)
        return torch.device("cpu")

    def _open_fan(self, stack: ExitStack) -> None:
        """Backends live on rank 0 only; a FanOut given by the user is used, not closed."""
        self.fan, self.loggers = None, []
        selection = self.loggers_selection
        if not self.world.is_zero or selection is False:
            return
        if isinstance(selection, FanOut):
            self.fan = selection
            stack.callback(selection.flush)
        else:
            self.fan = stack.enter_context(FanOut(
                selection, run_defaults=self._run_defaults, **self.logger_options))
        self.loggers = list(self.fan.backends.values())

    def _callbacks(self) -> list[object]:
        """The user's callbacks, a progress bar if asked for, and the backends that
        implement callback hooks (the console shows the text log through ``on_log_line``)."""
        callbacks = list(self.callbacks)
        if self.enable_progress_bar and self.world.is_zero and not any(
                isinstance(c, ProgressBar) for c in callbacks):
            if importlib.util.find_spec("tqdm") is None:
                log.debug("tqdm is not installed: no progress bar")
            else:
                callbacks.append(ProgressBar())
        callbacks += [b for b in self.loggers
                      if any(callable(getattr(type(b), h, None)) for h in CALLBACK_HOOKS)]
        return callbacks

    def _detach(self) -> None:
        self._module._trainer = self._module._engine = None

    def _on_exception(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is not None:
            self._call("on_exception", exception=exc)
            self._send_row()
        return False

    def _use_callbacks(self, callbacks: list[object]) -> None:
        """Checkpoints run after the other callbacks (as in Lightning), so that what those
        log at a step or epoch end is collected before a checkpoint is taken."""
        self._cbs = CallbackManager(c for c in callbacks if not isinstance(c, ModelCheckpoint))
        self._checkpoints = CallbackManager(c for c in callbacks
                                            if isinstance(c, ModelCheckpoint))

    def _call(self, hook: str, collect_late: Callable[[], None] | None = None,
              **kwargs: Any) -> None:
        """Run ``hook`` of every callback; ``collect_late`` runs before the checkpoints'."""
        kwargs.update(trainer=self, module=self._module)
        self._cbs.call(hook, kwargs)
        if collect_late is not None:
            collect_late()
        self._checkpoints.call(hook, kwargs)

    def _train_hook(self, hook: str, **kwargs: Any) -> None:
        """A callback hook inside a training batch: what it logs are step values."""
        self.engine.enter("train", hook)
        self._call(hook, **kwargs)

    def _load(self, ckpt_path: Any, resume: bool) -> dict[str, Any] | None:
        """Read a checkpoint: to ``resume`` a fit, backends continue their runs first
        (before anything is logged); then the weights. The optimizer and loop state are
        restored once they exist."""
        if ckpt_path is None:
            return None
        checkpoint = torch.load(ckpt_path, map_location=self.device, weights_only=False)
        if resume and self.fan is not None and checkpoint.get("loggers"):
            self.fan.load_state_dict(checkpoint["loggers"])
        self._module.load_state_dict(checkpoint["state_dict"])
        log.debug("resuming from %s (epoch %d, step %d)", ckpt_path, checkpoint["epoch"],
                  checkpoint["global_step"])
        return checkpoint

    # -- fit -------------------------------------------------------------------------------
    def _fit(self, module: Module, loader: Any, val_loader: Any,
             checkpoint: dict[str, Any] | None) -> None:
        self.optimizers, self.lr_scheduler_configs = _configure_optimizers(module)
        self.current_epoch = self.global_step = self._batches_done = 0
        self.should_stop = False
        if checkpoint is not None:
            for optimizer, state in zip(self.optimizers, checkpoint["optimizer_states"],
                                        strict=True):
                optimizer.load_state_dict(state)
            for config, state in zip(self.lr_scheduler_configs, checkpoint["lr_schedulers"],
                                     strict=True):
                config["scheduler"].load_state_dict(state)
            self.current_epoch = checkpoint["loop"]["epoch"]
            self._skip_batches = checkpoint["loop"]["batch"]
            self.global_step = checkpoint["global_step"]
            self._eval_steps.update(checkpoint["loop"]["eval_steps"])
            if len(checkpoint.get("metrics", ())) == self.world.size:  # mid-epoch, same world
                self.engine.load_state_dict(checkpoint["metrics"][self.world.rank])
            if checkpoint["row"]:  # this step's row as far as it got: completed here
                self._row_step = checkpoint["row"]["step"]
                self._row = dict(checkpoint["row"]["metrics"])
            self._eval_rows = [(step, dict(m)) for step, m in checkpoint["eval_rows"]]
            self._call("on_load_checkpoint", checkpoint=checkpoint)
        loader = distributed.shard(loader, self.world)
        val_loader = distributed.shard(val_loader, self.world) if val_loader else None
        self.num_training_batches = _limit(loader, self.limit_train_batches)
        self._planned_batches = self._plan()
        runner = None
        if self.world.size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            runner = DistributedDataParallel(_TrainingStep(module), device_ids=ids)
        self._hook_module("train", "on_fit_start")
        self._call("on_fit_start")
        while not self._finished():
            self._train_epoch(module, runner, loader, val_loader)
        self._hook_module("train", "on_fit_end")
        self._call("on_fit_end")

    def _finished(self) -> bool:
        return self.should_stop or (0 <= self.max_steps <= self.global_step) or (
            self.max_epochs is not None and self.current_epoch >= self.max_epochs)

    def _plan(self) -> int | None:
        """How many training batches the whole fit will run (for the ETA), if known."""
        per_epoch = self.num_training_batches
        plans = []
        if per_epoch is not None and self.max_epochs is not None:
            plans.append(per_epoch * (self.max_epochs - self.current_epoch) - self._skip_batches)
        if self.max_steps >= 0:
            plans.append((self.max_steps - self.global_step) * self.accumulate_grad_batches)
        return min(plans) if plans else None

    def _hook_module(self, stage: str, hook: str) -> None:
        self.engine.enter(stage, hook)
        getattr(self._module, hook)()

    def _train_epoch(self, module: Module, runner: Any, loader: Any, val_loader: Any) -> None:
        module.train()
        self._epoch_done = False
        self._hook_module("train", "on_train_epoch_start")
        self._call("on_train_epoch_start")
        sampler = getattr(loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self.current_epoch)
        n = self.num_training_batches
        validate_at = self._validation_batches(n) if self._validates_this_epoch(val_loader) else ()
        skip, self._skip_batches = self._skip_batches, 0
        self.batch_idx = -1
        processor = self.log_processor
        processor.begin("train")
        for batch_idx, batch in enumerate(loader):
            if n is not None and batch_idx >= n:
                break
            if batch_idx < skip:
                processor.timer.restart("train")
                continue
            # the rate this iteration uses (the scheduler may step before its line)
            processor.before_iter(self.optimizers[0].param_groups[0]["lr"])
            self.batch_idx = batch_idx
            if self.device.type != "cpu":
                batch = distributed.to_device(batch, self.device)
            self._train_batch(module, runner, batch, batch_idx, n)
            self._batches_done += 1
            processor.after_iter()
            self._end_train_batch(batch, batch_idx)
            if batch_idx + 1 in validate_at and (n is None or batch_idx + 1 < n):
                self._evaluate("validate", module, val_loader)
            if self.should_stop or 0 <= self.max_steps <= self.global_step:
                break
            processor.timer.restart("train")
        if self._validates_this_epoch(val_loader):
            self._evaluate("validate", module, val_loader)
        self._end_epoch("train", self.batch_idx + 1)
        self.current_epoch += 1

    def _train_batch(self, module: Module, runner: Any, batch: Any, batch_idx: int,
                     n: int | None) -> None:
        self.engine.begin_batch(batch)
        self._batch_open = True
        accumulate = self.accumulate_grad_batches
        step_now = (batch_idx + 1) % accumulate == 0 or (n is not None and batch_idx + 1 == n)
        self.stepped_this_batch = step_now
        self.logging_this_step = (
            step_now and (self.global_step + 1) % self.log_every_n_steps == 0)
        self._train_hook("on_train_batch_start", batch=batch, batch_idx=batch_idx)
        self.engine.enter("train", "training_step")
        quiet = runner.no_sync() if runner is not None and not step_now else nullcontext()
        with quiet:
            out = runner(batch, batch_idx) if runner is not None else module.training_step(
                batch, batch_idx)
            loss = out.get("loss") if isinstance(out, Mapping) else out
            if loss is not None:  # None skips the batch: no backward (Lightning's rule)
                if accumulate > 1:
                    loss = loss / accumulate
                self._train_hook("on_before_backward", loss=loss)
                loss.backward()
                self._train_hook("on_after_backward")
        self._outputs = out
        if step_now:
            optimizer = self.optimizers[0]
            self._train_hook("on_before_optimizer_step", optimizer=optimizer)
            self._clip(module)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            self.global_step += 1
            self._step_schedulers("step")

    def _end_train_batch(self, batch: Any, batch_idx: int) -> None:
        """At a logging step the step's values are collected (synced, published, put in
        the row) before the callbacks' ``on_train_batch_end``, and what those log joins
        them before any checkpoint is taken."""
        due = self.logging_this_step
        if due:
            self._collect_step()
        self.engine.enter("train", "on_train_batch_end")
        self._call("on_train_batch_end", collect_late=self._collect_step if due else None,
                   outputs=self._outputs, batch=batch, batch_idx=batch_idx)
        self._batch_open = False
        self._train_line()

    def _collect_step(self) -> None:
        self._emit(self.engine.collect_step(), self.global_step)

    def _clip(self, module: Module) -> None:
        if self.gradient_clip_val is None:
            return
        if self.gradient_clip_algorithm == "norm":
            torch.nn.utils.clip_grad_norm_(module.parameters(), self.gradient_clip_val)
        else:
            torch.nn.utils.clip_grad_value_(module.parameters(), self.gradient_clip_val)

    def _step_schedulers(self, interval: str) -> None:
        for config in self.lr_scheduler_configs:
            if config["interval"] != interval:
                continue
            count = self.global_step if interval == "step" else self.current_epoch + 1
            if count % config["frequency"]:
                continue
            monitor = config["monitor"]
            if monitor is None:
                config["scheduler"].step()
                continue
            metrics = self.callback_metrics  # with this batch's values for a step interval
            if monitor not in metrics:
                raise ValueError(
                    f"the LR scheduler monitors {monitor!r}, which was never logged; "
                    f"logged metrics: {self.engine.logged_names() or 'none'}")
            config["scheduler"].step(metrics[monitor])

    def _validation_batches(self, n: int | None) -> set[int]:
        """Batch counts after which validation runs inside the epoch (the end is apart)."""
        interval = self.val_check_interval
        if isinstance(interval, float):
            if n is None or interval >= 1.0:
                return set()
            every = max(1, int(n * interval))
        else:
            every = int(interval)
        return set(range(every, (n or 0) + 1, every)) if n else set()

    def _validates_this_epoch(self, val_loader: Any) -> bool:
        return val_loader is not None and (
            (self.current_epoch + 1) % self.check_val_every_n_epoch == 0)

    # -- evaluation --------------------------------------------------------------------------
    def _evaluate(self, stage: str, module: Module, loader: Any) -> dict[str, float]:
        step_name = _STAGE_STEP[stage]
        if not callable(getattr(module, step_name, None)):
            raise TypeError(f"{type(module).__name__} needs {step_name} to {stage}")
        word = _STAGE_WORD[stage]
        was_training = module.training
        module.eval()
        engine = self.engine
        self.num_val_batches = n = _limit(loader, self.limit_val_batches)
        self._hook_module(stage, f"on_{word}_epoch_start")
        self._call(f"on_{word}_epoch_start")
        done = 0
        self.log_processor.begin(_STAGE_TEXT[stage])
        with torch.no_grad():
            for batch_idx, batch in enumerate(loader):
                if n is not None and batch_idx >= n:
                    break
                self.log_processor.before_iter()
                if self.device.type != "cpu":
                    batch = distributed.to_device(batch, self.device)
                engine.begin_batch(batch)
                engine.enter(stage, step_name)
                out = getattr(module, step_name)(batch, batch_idx)
                self.log_processor.after_iter()
                done += 1
                step = self._eval_steps[stage]  # Lightning's step for evaluation step values
                self._eval_steps[stage] = step + 1
                engine.enter(stage, f"on_{word}_batch_end")
                self._call(f"on_{word}_batch_end", outputs=out, batch=batch,
                           batch_idx=batch_idx)
                if (batch_idx + 1) % self.log_every_n_steps == 0:
                    metrics = engine.collect_step()
                    if self.fan is not None and metrics:  # a row of its own, not merged
                        self._eval_rows.append((step, metrics))
                    self._eval_line(stage, batch_idx + 1, n)
        metrics = self._end_epoch(stage, done)
        module.train(was_training)
        return metrics

    def _end_epoch(self, stage: str, batches: int) -> dict[str, float]:
        """The module's epoch-end hook, then the callbacks' (checkpoints last). Callbacks
        read the epoch's values; what any of them logs goes out in this epoch's row."""
        hook = f"on_{_STAGE_WORD[stage]}_epoch_end"
        self._hook_module(stage, hook)
        metrics = self.engine.collect_epoch(stage)
        self._emit(metrics, self.global_step)
        if stage == "train":
            self._step_schedulers("epoch")
            self._epoch_done = True

        def collect_late() -> None:
            late = self.engine.collect_epoch(stage, hook)
            self._emit(late, self.global_step)
            metrics.update(late)

        self._call(hook, collect_late=collect_late)
        if metrics or stage != "train":
            self._line(self.log_processor.epoch_line(
                _STAGE_TEXT[stage], metrics, self._shown_epoch(), batches,
                self.global_step))
        return metrics

    # -- output ------------------------------------------------------------------------------
    def _train_line(self) -> None:
        """The text log's lines after a training iteration, when due: ``Exp name:`` at
        the end of each epoch, the iteration's line every ``log_every_n_steps``
        iterations of the epoch (of the run's optimizer steps with ``by_epoch=False``)."""
        processor = self.log_processor
        if self._text is None or not self._text.active or not (
                processor.by_epoch or self.stepped_this_batch):
            return
        n = self.num_training_batches
        count = self.batch_idx + 1 if processor.by_epoch else self.global_step
        if processor.exp_name_due(count, self._batches_done, n):
            self._line(processor.exp_name_line(Path(self.default_root_dir).resolve().name))
        if not processor.train_due(count, n, self.log_every_n_steps):
            return
        planned = self._planned_batches
        self._line(processor.train_line(
            self.engine.latest_histories(), self.current_epoch + 1,
            self.max_epochs or self.current_epoch + 1, self.batch_idx + 1, n,
            self.global_step, self.max_steps if self.max_steps >= 0 else _times(
                n, self.max_epochs),
            None if planned is None else planned - self._batches_done, self.device))

    def _eval_line(self, stage: str, batch: int, batches: int | None) -> None:
        """The line of an evaluation iteration (its times), every ``log_every_n_steps``."""
        if self._text is not None and self._text.active:
            self._line(self.log_processor.eval_line(
                _STAGE_TEXT[stage], batch, batches, self._shown_epoch(),
                (self.max_epochs or self.current_epoch + 1) if self.optimizers else None,
                self.global_step, self.device))

    def _shown_epoch(self) -> int:
        """The epoch a line names, from 1: during a fit the running one (MMEngine: the
        epochs done, once validation runs); outside a fit the epochs done."""
        return self.current_epoch + 1 if self._fitting else self.current_epoch

    def _line(self, line: str) -> None:
        if self._text is None or not self._text.active:
            return
        self._text.info(line)
        self._call("on_log_line", line=line)

    def _emit(self, metrics: dict[str, float], step: int) -> None:
        """Merge ``metrics`` into the row of ``step``; a row goes out when the next step's
        values arrive or at the end, as one ``log_metrics`` call."""
        if self.fan is None or not metrics:
            return
        if step != self._row_step:
            self._send_row()
            self._row_step = step
            self._row["epoch"] = float(self.current_epoch)
        self._row.update(metrics)

    def _send_row(self) -> None:
        """Send the current row as one ``log_metrics`` call and start a new one (the
        fan-out's workers take rows in bursts, so this costs the training loop little).
        Evaluation step rows waiting go first, so the last step a backend saw before a
        checkpoint is a training step (its resume point)."""
        if self.fan is not None:
            for step, metrics in self._eval_rows:
                self.fan.log_metrics(metrics, step=step)
            if self._row:
                self.fan.log_metrics(self._row, step=self._row_step)
        self._row, self._row_step, self._eval_rows = {}, -1, []


def _limit(loader: Any, limit: int | float) -> int | None:
    """How many batches to take from ``loader`` (None: unknown length, all of them)."""
    try:
        total = len(loader)
    except TypeError:
        return None if isinstance(limit, float) else int(limit)
    return min(total, int(limit)) if isinstance(limit, int) else int(total * limit)


def _times(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a * b


def _configure_optimizers(module: Module) -> tuple[list[torch.optim.Optimizer],
                                                   list[dict[str, Any]]]:
    """One optimizer and its LR schedulers from what ``configure_optimizers`` returned."""
    conf = module.configure_optimizers()
    schedulers: Any = []
    if isinstance(conf, Mapping):
        optimizer, schedulers = conf.get("optimizer"), conf.get("lr_scheduler", [])
    else:
        optimizer = conf
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("configure_optimizers must return one optimizer or a dict with "
                        f"'optimizer' (and 'lr_scheduler'); got {type(conf).__name__}")
    if not isinstance(schedulers, list | tuple):
        schedulers = [schedulers]
    configs = []
    for item in schedulers:
        config = dict(item) if isinstance(item, Mapping) else {"scheduler": item}
        config.setdefault("interval", "epoch")
        config.setdefault("frequency", 1)
        config.setdefault("monitor", None)
        if config["interval"] not in ("epoch", "step"):
            raise ValueError(f"lr_scheduler interval must be 'epoch' or 'step', got "
                             f"{config['interval']!r}")
        plateau = isinstance(config["scheduler"], torch.optim.lr_scheduler.ReduceLROnPlateau)
        if plateau and config["monitor"] is None:
            raise ValueError("ReduceLROnPlateau needs a metric: return "
                             "{'scheduler': ..., 'monitor': '<logged metric name>'}")
        configs.append(config)
    return [optimizer], configs

