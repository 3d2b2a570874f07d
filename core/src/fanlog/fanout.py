"""The fan-out: every configured backend behind an Outlet, reached through one pluggy hook call.

An :class:`Outlet` owns one backend, a bounded queue and a worker thread. It is registered
with pluggy in the backend's place and exposes exactly the hooks the backend implements,
each taking the backend's own argument names (so pluggy validates them), and each only
enqueueing the call: the caller returns at once while the worker delivers calls in order.
A backend that raises is fenced off (no further calls) and reported once; a backend that
hangs is fenced off when the caller would otherwise wait on it for ``hang_timeout``.
"""

from __future__ import annotations

import atexit
import difflib
import inspect
import logging
import math
import queue
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Literal

import pluggy

from fanlog import trace, validate
from fanlog.errors import BackendError
from fanlog.hookspecs import (
    LIFECYCLE_LOGGER_HOOKS,
    LOGGER_HOOKS,
    PROJECT,
    LoggerSpec,
)
from fanlog.params import to_plain
from fanlog.plugins import capabilities_of

log = logging.getLogger("fanlog")

OnError = Literal["continue", "raise_at_end", "raise"]
FullPolicy = Literal["wait", "drop"]
_STOP = object()
#: matplotlib is not thread-safe: backends render a shared figure one at a time
_FIGURE_LOCK = threading.Lock()


@dataclass
class OutletStats:
    """What one backend was sent and what became of it."""

    received: int = 0
    delivered: int = 0
    dropped: int = 0
    errors: int = 0
    state: str = "ok"  # ok | failed | hung | timed out
    error: str | None = None

    @property
    def lost(self) -> int:
        return self.received - self.delivered


@dataclass
class RunSummary:
    """Per backend, what it received, delivered, dropped and how it ended."""

    status: str
    backends: dict[str, OutletStats] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(s.lost == 0 and s.state == "ok" for s in self.backends.values())

    def format(self) -> str:
        rows = [("backend", "received", "delivered", "dropped", "errors", "state")]
        rows += [
            (name, str(s.received), str(s.delivered), str(s.dropped), str(s.errors),
             s.state + (f": {s.error}" if s.error else ""))
            for name, s in self.backends.items()
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5]
                 for r in rows]
        return f"fanlog run summary (status: {self.status})\n" + "\n".join(lines)


class _Manager(pluggy.PluginManager):
    """A PluginManager that also accepts unmarked methods named like a hook spec."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.add_hookspecs(LoggerSpec)
        trace.install(self, "loggers")

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        if isinstance(plugin, Outlet):
            return {} if name in plugin.hooks else None
        return super().parse_hookimpl_opts(plugin, name)


class Outlet:
    """One backend behind a bounded queue and its own worker thread."""

    def __init__(
        self,
        name: str,
        backend: object,
        queue_size: int = 10_000,
        full_policy: FullPolicy = "wait",
        hang_timeout: float = 60.0,
        on_failure: Callable[[Outlet], None] | None = None,
        linger: float = 0.005,
    ) -> None:
        if full_policy not in ("wait", "drop"):
            raise ValueError(f"full_policy must be 'wait' or 'drop', got {full_policy!r}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self.name = name
        self.backend = backend
        self.queue_size = queue_size
        self.full_policy = full_policy
        self.hang_timeout = hang_timeout
        self.linger = linger
        self.stats = OutletStats()
        self.error: BaseException | None = None
        self.hooks = capabilities_of(backend)
        self._on_failure = on_failure
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._busy_since: float | None = None
        self._fenced = False
        self._warned_full = False
        self._argnames: dict[str, list[str]] = {}
        for hook in self.hooks:
            setattr(self, hook, self._forwarder(hook))
        _warn_near_misses(name, backend)
        self._thread = threading.Thread(target=self._work, name=f"fanlog-{name}", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"<Outlet {self.name!r} {type(self.backend).__name__} hooks={list(self.hooks)}>"

    # -- the caller's side -------------------------------------------------------------------
    def _forwarder(self, hook: str) -> Callable[..., None]:
        """A function with the backend method's argument names that enqueues the call.

        Arguments with defaults that the spec also has lose their default (pluggy passes
        only arguments without one); others keep theirs and are not passed.
        """
        method = getattr(self.backend, hook)
        sig = inspect.signature(method)
        spec_args = tuple(inspect.signature(getattr(LoggerSpec, hook)).parameters)[1:]
        params = list(sig.parameters.values())
        if any(p.kind is p.VAR_KEYWORD for p in params):
            names = list(spec_args)
        else:
            names = [p.name for p in params
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                     and (p.name in spec_args or p.default is p.empty)]
        self._argnames[hook] = names
        positional = [p.name for p in params] == names and all(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
        # pluggy reads argument names from the function's code object, so the forwarder is
        # compiled with exactly the backend's names.
        arglist = ", ".join(names)
        packed = f"({arglist},)" if names else "()"
        call = (f"submit(method, {packed})" if positional else
                f"submit(method, (), {{{', '.join(f'{n!r}: {n}' for n in names)}}})")
        namespace: dict[str, Any] = {"submit": self.submit, "method": method}
        exec(f"def {hook}({arglist}):\n    {call}\n", namespace)
        forward = namespace[hook]
        forward.__qualname__ = hook
        forward.__doc__ = f"Queue {type(self.backend).__qualname__}.{hook} on its worker."
        return forward

    def submit(self, method: Callable[..., Any], args: tuple, kwargs: dict | None = None,
               done: Future | None = None) -> None:
        """Queue one call (never blocks unless the queue is full under the "wait" policy).
        ``finalize`` always gets through, even to a fenced backend or a full queue, so that
        files are closed and runs are marked ended."""
        stats = self.stats
        stats.received += 1
        final = method.__name__ == "finalize"
        if self._fenced and not final:
            stats.dropped += 1
            if done is not None:
                done.set_exception(BackendError({self.name: self.error or RuntimeError("fenced")}))
            return
        if self._queue.qsize() >= self.queue_size and not final and not self._wait_for_room():
            stats.dropped += 1
            if done is not None:
                done.set_exception(TimeoutError(f"backend {self.name!r} queue is full"))
            return
        self._queue.put((method, args, kwargs, done))

    def _wait_for_room(self) -> bool:
        """Apply the full-queue policy; True when there is room again."""
        if self.full_policy == "drop":
            if not self._warned_full:
                self._warned_full = True
                log.warning(
                    "fanlog: backend %r cannot keep up (queue of %d full): dropping calls and "
                    "counting them; see the run summary", self.name, self.queue_size)
            return False
        while self._queue.qsize() >= self.queue_size:
            busy = self._busy_since
            if busy is not None and time.monotonic() - busy > self.hang_timeout:
                self._fence(TimeoutError(
                    f"one call has not returned for {self.hang_timeout:.0f} s"), state="hung")
                return False
            if self._fenced or not self._thread.is_alive():
                return False
            time.sleep(0.0005)
        return True

    def call(self, hook: str, kwargs: dict[str, Any], timeout: float | None) -> Any:
        """Deliver one hook on the worker and wait for its result (synchronous hooks); the
        backend gets the arguments it takes, as with queued hooks."""
        done: Future = Future()
        names = self._argnames[hook]
        self.submit(getattr(self.backend, hook), (), {k: kwargs[k] for k in names}, done)
        return done.result(timeout)

    def barrier(self, timeout: float | None) -> bool:
        """Wait until every call queued so far was handled; False on time-out."""
        done: Future = Future()
        self._queue.put((None, (), None, done))
        try:
            done.result(timeout)
        except FutureTimeout:
            return False
        except Exception:
            return True
        return True

    # -- the worker's side -------------------------------------------------------------------
    def _work(self) -> None:
        """Deliver queued calls in order. After the queue runs dry the worker lingers a few
        milliseconds before it waits again, so calls arriving at every training step are
        handled in bursts: the training thread does not wake this thread once per call."""
        get, empty = self._queue.get, self._queue.empty
        while True:
            item = get()
            if item is _STOP:
                return
            self._handle(*item)
            if self.linger and empty():
                time.sleep(self.linger)

    def _handle(self, method: Any, args: tuple, kwargs: dict | None,
                done: Future | None) -> None:
        stats = self.stats
        if method is None:  # a barrier
            done.set_result(None)
            return
        if type(method) is _Release:
            method()
            return
        if self._fenced and getattr(method, "__name__", "") != "finalize":
            stats.dropped += 1
            if done is not None:
                done.set_exception(BackendError({self.name: self.error}))
            return
        self._busy_since = time.monotonic()
        try:
            if method.__name__ == "log_figure":
                with _FIGURE_LOCK:  # one figure object, several workers: matplotlib
                    result = method(*args, **kwargs) if kwargs else method(*args)
            else:
                result = method(*args, **kwargs) if kwargs else method(*args)
        except BaseException as exc:  # fence every failure, report it once
            stats.errors += 1
            self._fence(exc)
            if done is not None:
                done.set_exception(exc)
        else:
            stats.delivered += 1
            if done is not None:
                done.set_result(result)
        finally:
            self._busy_since = None

    def _fence(self, exc: BaseException, state: str = "failed") -> None:
        if self._fenced:
            return
        self._fenced = True
        self.error = exc
        self.stats.state = state
        self.stats.error = f"{type(exc).__name__}: {exc}"
        log.error("fanlog: backend %r %s and is fenced off; the other backends go on: %s",
                  self.name, "hangs" if state == "hung" else "raised", self.stats.error,
                  exc_info=(type(exc), exc, exc.__traceback__) if state == "failed" else None)
        if self._on_failure is not None:
            self._on_failure(self)

    def stop(self, timeout: float | None) -> bool:
        """Ask the worker to end after what is queued; False if it did not within ``timeout``."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def fenced(self) -> bool:
        return self._fenced


class FanOut:
    """Send every logging call to all configured backends without waiting for any of them.

    ``loggers`` takes names, ``{"name": ..., **options}`` dicts, a ``{name: options}``
    mapping, backend instances, or None (then ``FANLOG_LOGGERS``, ``fanlog.toml``,
    ``[tool.fanlog]`` in pyproject.toml, or the default ``["console", "csv"]``; see
    :mod:`fanlog.config` for precedence). ``run_defaults`` (e.g. ``save_dir``, ``name``) go to
    every backend whose constructor takes them and was not given them.

    Use it as a context manager, or call :meth:`finalize` yourself; a run left open is
    finalized at interpreter exit.
    """

    def __init__(
        self,
        loggers: Any = None,
        *,
        run_defaults: Mapping[str, Any] | None = None,
        on_error: OnError = "continue",
        queue_size: int = 10_000,
        full_policy: FullPolicy = "wait",
        hang_timeout: float = 60.0,
        finalize_timeout: float = 30.0,
        linger: float = 0.005,
        strict: bool = False,
        summary: bool = True,
        cli_args: Iterable[str] | None = None,
    ) -> None:
        from fanlog.config import build_backends

        if on_error not in ("continue", "raise_at_end", "raise"):
            raise ValueError(f"on_error must be continue, raise_at_end or raise; got {on_error!r}")
        self.on_error = on_error
        self.finalize_timeout = finalize_timeout
        self.print_summary = summary
        self.status: str | None = None
        self._summary: RunSummary | None = None
        self._raised: set[str] = set()
        self._failed = threading.Event()
        self._warned: set[tuple[str, str]] = set()
        self._nonfinite: set[str] = set()
        self._auto_step = 0
        self._lock = threading.Lock()

        backends = build_backends(loggers, run_defaults=run_defaults, strict=strict,
                                  cli_args=cli_args)
        self._pm = _Manager()
        self.outlets: dict[str, Outlet] = {}
        for name, backend in backends.items():
            self.outlets[name] = Outlet(name, backend, queue_size, full_policy, hang_timeout,
                                        on_failure=self._note_failure, linger=linger)
        try:
            # pluggy calls the last registered first: register in reverse to keep config order.
            for outlet in reversed(list(self.outlets.values())):
                self._pm.register(outlet, name=outlet.name)
        except pluggy.PluginValidationError as exc:
            self._stop_all(0.5)
            raise pluggy.PluginValidationError(exc.plugin, _explain(exc)) from None
        self._hook = self._pm.hook
        self._missing = {
            hook: [n for n, o in self.outlets.items() if hook not in o.hooks]
            for hook in LOGGER_HOOKS if hook not in LIFECYCLE_LOGGER_HOOKS
        }
        _install_exit_hooks()
        _open_runs.add(self)

    # -- introspection ---------------------------------------------------------------------
    @property
    def backends(self) -> dict[str, object]:
        """The backend instances by logger name, in fan-out order (``.experiment`` on each)."""
        return {name: o.backend for name, o in self.outlets.items()}

    def __getitem__(self, name: str) -> object:
        return self.outlets[name].backend

    def __len__(self) -> int:
        return len(self.outlets)

    def __enter__(self) -> FanOut:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        from fanlog.status import Status

        self.finalize(Status.from_exception(exc), _raise=exc is None)

    # -- logging calls (caller side: convert, enqueue, return) -----------------------------
    def log_hyperparams(self, params: Mapping[str, Any] | Any) -> None:
        """Send hyperparameters (nested dicts, namespaces and tensors are made plain)."""
        if not isinstance(params, Mapping):
            params = vars(params) if hasattr(params, "__dict__") else params
        if not isinstance(params, Mapping):
            raise TypeError(f"hyperparameters must be a mapping, got {type(params).__name__}")
        self._call("log_hyperparams", params=to_plain(params))

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Send scalar values at ``step`` (default: one more than the last step sent).

        Values may be Python numbers, numpy scalars or one-element tensors on any device;
        all tensors are brought to the host in one transfer per device.
        """
        if step is None:
            step = self._auto_step
        elif not isinstance(step, int) or isinstance(step, bool):
            if hasattr(step, "__index__"):
                step = int(step)
            else:
                raise TypeError(f"step must be an int, got {type(step).__name__}")
        self._auto_step = step + 1
        if not metrics:
            return
        self._call("log_metrics", metrics=scalars(metrics, self._nonfinite), step=step)

    def log_text(self, key: str, text: str, step: int | None = None) -> None:
        self._call("log_text", key=_key(key), text=str(text), step=step)

    def log_image(self, key: str, image: Any, step: int | None = None,
                  dataformats: str = "CHW") -> None:
        """Send an image (tensor or array; see the hook spec for layouts)."""
        from fanlog import media  # numpy: imported when media is first logged
        array = media.to_numpy(image)
        media.check_image(array, dataformats)
        self._call("log_image", key=_key(key), image=array, step=step, dataformats=dataformats)

    def log_histogram(self, key: str, values: Any, step: int | None = None,
                      bins: int = 64) -> None:
        from fanlog import media
        array = media.to_numpy(values).reshape(-1)
        self._call("log_histogram", key=_key(key), values=array, step=step, bins=int(bins))

    def log_audio(self, key: str, audio: Any, step: int | None = None,
                  sample_rate: int = 16_000) -> None:
        from fanlog import media
        array = media.to_numpy(audio)
        if array.ndim not in (1, 2):
            raise ValueError(f"audio must be (samples,) or (channels, samples); got {array.shape}")
        self._call("log_audio", key=_key(key), audio=array, step=step,
                   sample_rate=int(sample_rate))

    def log_figure(self, key: str, figure: Any, step: int | None = None,
                   close: bool = True) -> None:
        """Send a matplotlib figure; with ``close`` it is closed once every backend had it."""
        self._call("log_figure", key=_key(key), figure=figure, step=step)
        if close:
            takers = [o for o in self.outlets.values() if "log_figure" in o.hooks and not o.fenced]
            _close_after(figure, takers)

    def log_graph(self, model: Any, example_input: Any = None) -> None:
        """Send the model's structure; waits until every backend has traced it."""
        self._call_sync("log_graph", {"model": model, "example_input": example_input})

    def log_artifact(self, path: Any, name: str | None = None,
                     metadata: Mapping[str, Any] | None = None, *,
                     warn_unsupported: bool = True) -> None:
        """Send a file or folder; ``warn_unsupported=False`` for files that stay on disk
        anyway (the trainer's checkpoints), so backends without artifacts are not warned
        about."""
        self._call("log_artifact", path=str(path), name=name,
                   metadata=to_plain(dict(metadata or {})), _warn=warn_unsupported)

    def watch(self, model: Any, log: str | None = "gradients", log_freq: int = 100) -> None:
        self._call_sync("watch", {"model": model, "log": log, "log_freq": int(log_freq)})

    # -- run control -----------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Ask every backend to make what it got durable (``save``) and wait for it.
        Returns False if some backend did not finish within ``timeout``."""
        self._call("save")
        deadline = None if timeout is None else time.monotonic() + timeout
        ok = True
        for outlet in self.outlets.values():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ok = outlet.barrier(left) and ok
        return ok

    def state_dict(self, timeout: float | None = 30.0) -> dict[str, dict[str, Any]]:
        """Each backend's resume state, by logger name (for checkpoints)."""
        return self._call_sync("state_dict", {}, timeout)

    def load_state_dict(self, states: Mapping[str, Mapping[str, Any]],
                        timeout: float | None = 30.0) -> None:
        """Give each backend its resume state, before anything else is logged."""
        for name, outlet in self.outlets.items():
            if name in states and "load_state_dict" in outlet.hooks:
                outlet.call("load_state_dict", {"state": dict(states[name])}, timeout)

    def finalize(self, status: Any = "success", timeout: float | None = None,
                 _raise: bool = True) -> RunSummary:
        """End the run on every backend within ``timeout`` (default ``finalize_timeout``)
        and return the summary. Idempotent: later calls return the first summary."""
        from fanlog.status import Status

        with self._lock:
            if self._summary is not None:
                return self._summary
            status = Status(status)
            self.status = status.value
            timeout = self.finalize_timeout if timeout is None else timeout
            deadline = time.monotonic() + timeout
            self._hook.finalize(status=status)
            for outlet in self.outlets.values():
                if not outlet.stop(max(0.0, deadline - time.monotonic())):
                    if outlet.stats.state == "ok":
                        outlet.stats.state = "timed out"
                    outlet.stats.error = f"finalize did not finish within {timeout:g} s"
                    log.error("fanlog: backend %r did not finish within %g s; abandoning it "
                              "with %d call(s) undelivered", outlet.name, timeout,
                              outlet.stats.received - outlet.stats.delivered)
            self._summary = RunSummary(status.value,
                                       {n: o.stats for n, o in self.outlets.items()})
            _open_runs.discard(self)
        if self.print_summary and self.outlets:
            print(self._summary.format(), file=sys.stderr)
        failures = {n: o.error for n, o in self.outlets.items() if o.error is not None}
        if _raise and failures and self.on_error != "continue":
            raise BackendError(failures)  # type: ignore[arg-type]
        return self._summary

    @property
    def summary(self) -> RunSummary:
        """Live counts (or the final summary once finalized)."""
        return self._summary or RunSummary(
            self.status or "running", {n: o.stats for n, o in self.outlets.items()})

    # -- internals -------------------------------------------------------------------------
    def _prepare(self, hook: str, warn: bool = True) -> None:
        """What every fan-out call does first: raise a new failure under on_error="raise",
        and warn once about backends that lack ``hook``."""
        if self._failed.is_set() and self.on_error == "raise":
            self._raise_new_failures()
        missing = self._missing.get(hook)
        if missing and warn:
            self._warn_unsupported(hook, missing)

    def _call(self, hook: str, _warn: bool = True, **kwargs: Any) -> None:
        self._prepare(hook, _warn)
        getattr(self._hook, hook)(**kwargs)

    def _call_sync(self, hook: str, kwargs: dict[str, Any],
                   timeout: float | None = 30.0) -> dict[str, Any]:
        self._prepare(hook)
        results: dict[str, Any] = {}
        tracing = trace.enabled()
        for name, outlet in self.outlets.items():
            if hook not in outlet.hooks or outlet.fenced:
                continue
            if tracing:
                trace.emit(f"loggers.{hook}({trace.arguments(kwargs)}) -> [{name}] (synchronous)")
            try:
                results[name] = outlet.call(hook, kwargs, timeout)
            except FutureTimeout:
                log.error("fanlog: backend %r did not answer %s within %s s", name, hook, timeout)
            except Exception:
                pass
        return results

    def _warn_unsupported(self, hook: str, names: list[str]) -> None:
        for name in names:
            if (name, hook) not in self._warned:
                self._warned.add((name, hook))
                warnings.warn(f"fanlog: logger {name!r} does not support {hook}; "
                              "such calls are skipped for it (warned once per run)",
                              stacklevel=4)

    def _note_failure(self, outlet: Outlet) -> None:
        self._failed.set()

    def _raise_new_failures(self) -> None:
        new = {n: o.error for n, o in self.outlets.items()
               if o.error is not None and n not in self._raised}
        if new:
            self._raised.update(new)
            raise BackendError(new)  # type: ignore[arg-type]

    def _stop_all(self, timeout: float) -> None:
        for outlet in self.outlets.values():
            outlet.stop(timeout)


def scalars(metrics: Mapping[str, Any], nonfinite_seen: set[str] | None = None) -> dict[str, float]:
    """Plain floats from numbers, numpy scalars and one-element tensors, with all tensors
    brought to the host in one transfer per device; NaN/inf kept and reported once per name.
    Names and values are checked here, so a bad one fails at the call, named."""
    out: dict[str, float] = {}
    pending: dict[Any, list[tuple[str, Any]]] = {}
    for name, value in metrics.items():
        validate.metric_name(name)
        kind = type(value)
        if kind is float or kind is int:
            out[name] = validate.number(f"metric {name!r}", value) if kind is int else value
        elif hasattr(value, "detach") and hasattr(value, "numel"):
            problem = validate.tensor_problem(value)
            if problem:
                raise TypeError(f"metric {name!r} {problem}")
            out[name] = 0.0  # keeps the caller's order; filled below
            pending.setdefault(value.device, []).append((name, value))
        else:
            out[name] = validate.number(f"metric {name!r}", value)
    if pending:
        import torch

        for device, items in pending.items():
            if device.type == "cpu":
                for name, value in items:
                    out[name] = float(value.item())
                continue
            dtype = torch.float32 if device.type == "mps" else torch.float64
            stacked = torch.stack([v.detach().reshape(()).to(dtype) for _, v in items])
            for (name, _), number in zip(items, stacked.tolist(), strict=True):
                out[name] = number  # one device-to-host transfer for the whole group
    if nonfinite_seen is not None:
        for name, number in out.items():
            if not math.isfinite(number) and name not in nonfinite_seen:
                nonfinite_seen.add(name)
                warnings.warn(f"fanlog: metric {name!r} is {number}; it is sent to the "
                              "backends as such (warned once per name)", RuntimeWarning,
                              stacklevel=3)
    return out


def _key(key: Any) -> str:
    return validate.key(key)


def _close_after(figure: Any, takers: list[Outlet]) -> None:
    """Close ``figure`` when the last backend that takes figures has handled it."""
    remaining = [len(takers)]
    lock = threading.Lock()

    def release() -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            import matplotlib.pyplot as plt

            plt.close(figure)

    if not takers:
        remaining[0] = 1
        release()
    for outlet in takers:
        outlet._queue.put((_Release(release), (), None, None))


class _Release:
    """A queue item that runs bookkeeping on the worker without counting as a delivery."""

    __name__ = "release"

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn

    def __call__(self) -> None:
        self.fn()


def _warn_near_misses(name: str, backend: object) -> None:
    """A method named almost like a hook (``log_metric``) is most likely a typo that would
    silently never be called: say so once, when the backend is set up."""
    for klass in type(backend).__mro__[:-1]:
        for attr, value in vars(klass).items():
            if attr.startswith("_") or attr in LOGGER_HOOKS or not callable(value):
                continue
            close = difflib.get_close_matches(attr, LOGGER_HOOKS, n=1, cutoff=0.85)
            if close:
                warnings.warn(f"fanlog: logger {name!r} has a method {attr!r} that is not a "
                              f"hook; did you mean {close[0]!r}?", UserWarning, stacklevel=5)


def _explain(exc: pluggy.PluginValidationError) -> str:
    return (f"logger {exc.plugin.name!r} ({type(exc.plugin.backend).__module__}."
            f"{type(exc.plugin.backend).__qualname__}) does not match the hook contract:\n"
            f"{exc}")


# Runs left open are finalized at exit: FAILED/INTERRUPTED if an exception escaped. The
# hooks are installed when the first FanOut is made, not at import.
_open_runs: weakref.WeakSet[FanOut] = weakref.WeakSet()
_last_exception: list[BaseException | None] = [None]
_exit_hooks_installed = False


def _install_exit_hooks() -> None:
    global _exit_hooks_installed
    if _exit_hooks_installed:
        return
    _exit_hooks_installed = True
    previous = sys.excepthook

    def excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        _last_exception[0] = exc
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook
    # Finalize at threading shutdown, which comes before every atexit callback: SDKs tear
    # down their own services at exit (wandb's), and the workers must still be able to
    # deliver what is queued. concurrent.futures uses the same hook.
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(_finalize_open_runs)
    else:  # pragma: no cover - CPython has it since 3.9
        atexit.register(_finalize_open_runs)


def _finalize_open_runs() -> None:
    from fanlog.status import Status

    status = Status.from_exception(_last_exception[0])
    for run in list(_open_runs):
        run.finalize(status, _raise=False)
