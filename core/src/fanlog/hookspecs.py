"""The contract between fanlog and its plugins: every hook, with its docstring as the spec.

Two families of hooks live here, each in its own spec class:

* :class:`LoggerSpec` -- what a logger backend implements. A backend is a plain class;
  each of its methods named like a hook below *is* its implementation of that hook (no
  decorator needed). pluggy checks the argument names when the backend is registered,
  so a misspelled argument is an error naming the plugin. What a backend implements is
  its capability set. The fan-out calls every logger hook on the backend's own worker
  thread, one call at a time and in order, so a backend never needs locks and an SDK is
  only ever used from one thread.
* :class:`CallbackSpec` -- trainer lifecycle hooks. Callbacks (learning-rate monitor,
  checkpointing, progress bar, ...) implement them; the trainer calls them synchronously
  on the training thread.

An implementation may take any subset of a hook's arguments, in any order, by name.
Values reaching a backend are plain Python numbers, strings, dicts and CPU numpy arrays:
never device tensors (the fan-out converts them once per call on the caller's side).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import numpy as np

    from fanlog.status import Status

PROJECT = "fanlog"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class LoggerSpec:
    """Hooks a logger backend may implement. Every one is optional."""

    @hookspec
    def log_hyperparams(self, params: dict[str, Any]) -> None:
        """Record the run's hyperparameters.

        ``params`` may be nested (dicts of dicts) and hold ints, floats, bools, strings,
        None and lists. A backend whose store is flat flattens it itself
        (:func:`fanlog.params.flatten`). May be called more than once; later values win.
        """

    @hookspec
    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """Record scalar values at ``step``.

        ``metrics`` maps names to Python floats (ints and bools arrive as floats too).
        NaN and infinities are delivered as values: store them if the backend can, never
        drop the others because of them. One call carries every metric of a logging
        step, so a backend should write it as one batch (one request, one row).
        """

    @hookspec
    def log_text(self, key: str, text: str, step: int | None) -> None:
        """Record a piece of text (a prediction sample, a note) under ``key``."""

    @hookspec
    def log_image(
        self, key: str, image: np.ndarray, step: int | None, dataformats: str
    ) -> None:
        """Record an image or a batch of images.

        ``image`` is a CPU numpy array, uint8 in 0..255 or float in 0..1. Its layout is
        ``dataformats``: one of ``"HW"``, ``"HWC"``, ``"CHW"``, ``"NCHW"``, ``"NHWC"``
        (C is 1, 3 or 4). :func:`fanlog.media.to_hwc_uint8` turns any of them into one
        HWC uint8 image (batches as a grid) for backends that want exactly that.
        """

    @hookspec
    def log_histogram(
        self, key: str, values: np.ndarray, step: int | None, bins: int
    ) -> None:
        """Record the distribution of ``values`` (a flat CPU float array) at ``step``."""

    @hookspec
    def log_audio(
        self, key: str, audio: np.ndarray, step: int | None, sample_rate: int
    ) -> None:
        """Record a clip: ``audio`` is a float array in -1..1, shape (samples,) or
        (channels, samples), sampled at ``sample_rate`` Hz."""

    @hookspec
    def log_figure(self, key: str, figure: Any, step: int | None) -> None:
        """Record a matplotlib figure. Do not close it: the fan-out closes it once every
        backend has had it."""

    @hookspec
    def log_graph(self, model: Any, example_input: Any) -> None:
        """Record the model's structure. ``model`` is the live ``torch.nn.Module`` and
        ``example_input`` a CPU input for tracing (or None). Delivered synchronously:
        the caller waits, so the model is not training while it is traced."""

    @hookspec
    def log_artifact(self, path: str, name: str | None, metadata: dict[str, Any]) -> None:
        """Store the file or folder at ``path`` (a checkpoint, a model, a report).

        ``name`` is the name to store it under (None: the file's name). ``metadata``
        says what it is, e.g. ``{"kind": "checkpoint", "step": 100, "score": 0.12}``.
        The file exists when the hook is delivered; do not move or delete it.
        """

    @hookspec
    def watch(self, model: Any, log: str | None, log_freq: int) -> None:
        """Track the model's gradients and/or parameters (``log`` is ``"gradients"``,
        ``"parameters"``, ``"all"`` or None) every ``log_freq`` steps, for backends that
        can. Delivered synchronously, like :meth:`log_graph`."""

    @hookspec
    def save(self) -> None:
        """Make everything received so far durable (flush files, send batches)."""

    @hookspec
    def finalize(self, status: Status) -> None:
        """End the run with ``status`` (:class:`fanlog.Status`): flush, close files,
        mark the remote run finished / failed / killed. Called once per run, also after
        an exception or Ctrl-C; must finish promptly (the fan-out gives it a time limit).
        """

    @hookspec
    def state_dict(self) -> dict[str, Any]:
        """Return what this backend needs to continue the same run after a restart
        (run id, version folder, last step). Stored in the trainer's checkpoints;
        must be JSON-serialisable. Delivered synchronously."""

    @hookspec
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the run described by ``state`` (from :meth:`state_dict`). Delivered
        before any other hook of a resumed run, so backends should start their run
        lazily, at the first hook that needs it. Steps at or before
        ``state["step"]`` that arrive again must not be stored twice."""


class CallbackSpec:
    """Trainer lifecycle hooks, called synchronously on the training thread, callback by
    callback in the order given (``ModelCheckpoint`` instances last, as in Lightning).

    ``trainer`` is the :class:`fanlog.Trainer`, ``module`` the user's
    :class:`fanlog.Module`. Every hook is optional.
    """

    @hookspec
    def on_fit_start(self, trainer: Any, module: Any) -> None:
        """Training is about to begin (after set-up, before the first epoch)."""

    @hookspec
    def on_fit_end(self, trainer: Any, module: Any) -> None:
        """Training finished normally. ``self.log`` raises here (as in Lightning): the
        last values already went out; ``trainer.log_metrics`` still sends."""

    @hookspec
    def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
        """A training epoch begins."""

    @hookspec
    def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
        """A training epoch ended (after its validation); its epoch values are in
        ``callback_metrics``, and what is logged here goes out in the same epoch's row."""

    @hookspec
    def on_train_batch_start(
        self, trainer: Any, module: Any, batch: Any, batch_idx: int
    ) -> None:
        """A training batch is about to run."""

    @hookspec
    def on_train_batch_end(
        self, trainer: Any, module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """A training batch ran (after the optimizer step when one happened); its step
        values are in ``callback_metrics``, and what is logged here joins them."""

    @hookspec
    def on_before_backward(self, trainer: Any, module: Any, loss: Any) -> None:
        """``loss`` (divided by ``accumulate_grad_batches``) is about to be backpropagated.
        Not called for a batch whose ``training_step`` returned None."""

    @hookspec
    def on_after_backward(self, trainer: Any, module: Any) -> None:
        """This batch's gradients were added to ``.grad`` (every batch, accumulating or
        not, before any clipping or optimizer step): the place for gradient logging."""

    @hookspec
    def on_before_optimizer_step(self, trainer: Any, module: Any, optimizer: Any) -> None:
        """Gradients are ready and about to be applied (gradient-norm monitors hook in
        here)."""

    @hookspec
    def on_validation_epoch_start(self, trainer: Any, module: Any) -> None:
        """A validation pass begins."""

    @hookspec
    def on_validation_batch_end(
        self, trainer: Any, module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """A validation batch ran."""

    @hookspec
    def on_validation_epoch_end(self, trainer: Any, module: Any) -> None:
        """A validation pass ended; its epoch values are in ``callback_metrics``, and
        what is logged here goes out with them."""

    @hookspec
    def on_test_epoch_start(self, trainer: Any, module: Any) -> None:
        """A test pass (``trainer.test``) begins, before its first batch."""

    @hookspec
    def on_test_batch_end(
        self, trainer: Any, module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """A test batch ran; ``outputs`` is what ``test_step`` returned."""

    @hookspec
    def on_test_epoch_end(self, trainer: Any, module: Any) -> None:
        """A test pass ended; its epoch values are in ``callback_metrics``, and what is
        logged here goes out with them."""

    @hookspec
    def on_save_checkpoint(
        self, trainer: Any, module: Any, checkpoint: dict[str, Any]
    ) -> None:
        """A checkpoint dict is being built: add what this callback needs to resume."""

    @hookspec
    def on_load_checkpoint(
        self, trainer: Any, module: Any, checkpoint: dict[str, Any]
    ) -> None:
        """A checkpoint is being restored: read back what :meth:`on_save_checkpoint`
        stored."""

    @hookspec
    def on_exception(self, trainer: Any, module: Any, exception: BaseException) -> None:
        """Training is ending because of ``exception`` (KeyboardInterrupt included)."""

    @hookspec
    def on_log_line(self, trainer: Any, module: Any, line: str) -> None:
        """The trainer wrote ``line`` to its text log (MMEngine-style iteration and epoch
        lines, also in ``run.log``). Backends that implement it are registered as
        callbacks too: the console prints these lines instead of its own metric lines."""


#: Hooks that are part of a run's bookkeeping, not data: no "unsupported" warning.
LIFECYCLE_LOGGER_HOOKS = frozenset({"save", "finalize", "state_dict", "load_state_dict"})


def hook_names(spec: type) -> tuple[str, ...]:
    """The hook names declared by a spec class, in declaration order."""
    return tuple(
        name for name, fn in vars(spec).items()
        if callable(fn) and hasattr(fn, f"{PROJECT}_spec")
    )


LOGGER_HOOKS = hook_names(LoggerSpec)
CALLBACK_HOOKS = hook_names(CallbackSpec)
