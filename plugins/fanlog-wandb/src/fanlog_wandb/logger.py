"""The W&B backend: one wandb run, started lazily on the fan-out's worker thread.

Steps: fanlog's global step is logged as a metric (``step_metric``) that every other key is
plotted against (``define_metric``). ``run.log`` is never given ``step=``, so W&B's own
``_step`` counter only ever increases: no point is rejected or silently dropped as "lower
than the current step", whatever order the steps arrive in (validation at an earlier step,
a resumed run).
"""

from __future__ import annotations

# wandb's import loads concurrent.futures.thread, which can no longer be imported once the
# interpreter is shutting down: loaded here (stdlib, 0.3 ms), a run that first starts while
# the fan-out finalizes at exit (a short script that never called finalize) still starts.
import concurrent.futures.thread  # noqa: F401
import os
import sys
import threading
import warnings
import weakref
from pathlib import Path
from typing import Any, Literal

from fanlog.backend import CheckpointUploads, add_prefix, check_prefix, prefixed
from fanlog.status import Status
from fanlog_wandb import convert, stored
from fanlog_wandb.checks import check_policy, check_project, check_run_id, lightning_synonyms
from fanlog_wandb.extras import LightningMethods

DEFAULT_SAVE_DIR = "fanlog_logs"
DEFAULT_PROJECT = "fanlog"
#: Status -> W&B exit code (non-zero marks the run failed; 255 is what wandb's own exit
#: hook reports for KeyboardInterrupt).
EXIT_CODES = {Status.SUCCESS: 0, Status.FAILED: 1, Status.INTERRUPTED: 255}
#: wandb.init and the service's teardown, one at a time across this process's loggers: two
#: workers starting together both took the other's run for their own (finishing it twice),
#: and a teardown between another logger's start and its run's registration killed it.
_SDK_LOCK = threading.Lock()
#: the runs fanlog's loggers started (any other active run is the user's own)
_OUR_RUNS: weakref.WeakSet[Any] = weakref.WeakSet()


class WandbLogger(LightningMethods):
    """Log a fanlog run to Weights & Biases, with the options of Lightning's WandbLogger.

    ``log_model`` follows the one checkpoint policy (:class:`fanlog.backend.CheckpointUploads`):
    False (not uploaded), True (the checkpoints the callback keeps, at a successful end) or
    ``"all"`` (each as it is saved; online, a version whose file the callback rotated out is
    deleted). Versions of the ``model-<run id>`` artifact carry the aliases ``latest`` and,
    for the best one, ``best``. ``prefix`` names metrics ``prefix-name``. ``project`` and
    ``id`` are checked against W&B's rules here. Other keyword arguments go to
    ``wandb.init`` (entity, group, tags, notes, job_type, config, settings, reinit, resume,
    ...). Lightning's ``log_table``, ``log_video``, ``use_artifact``, ``download_artifact`` and
    ``name`` / ``version`` / ``save_dir`` are here too (:mod:`fanlog_wandb.extras`).
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        save_dir: str | Path | None = None,
        offline: bool = False,
        id: str | None = None,
        version: str | None = None,
        anonymous: bool | None = None,
        project: str | None = None,
        log_model: bool | Literal["all"] = False,
        prefix: str = "",
        checkpoint_name: str | None = None,
        step_metric: str = "trainer/global_step",
        finish_timeout: float = 20.0,
        dir: str | Path | None = None,
        experiment: Any = None,
        add_file_policy: Literal["mutable", "immutable"] = "mutable",
        **kwargs: Any,
    ) -> None:
        for option, value in (("name", name), ("id", id), ("version", version),
                              ("project", project), ("checkpoint_name", checkpoint_name)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{option} must be a string or None, got {value!r}")
        check_prefix(prefix)
        if not isinstance(step_metric, str):
            raise TypeError(f"step_metric must be a string, got {step_metric!r}")
        if not step_metric:
            raise ValueError("step_metric must not be empty")
        if id and version and id != version:
            raise ValueError(f"id and version name the run id; got two: {id!r}, {version!r}")
        check_project(project)
        check_run_id(id or version)
        if isinstance(finish_timeout, bool) or not isinstance(finish_timeout, int | float) \
                or finish_timeout < 0:
            raise ValueError(f"finish_timeout must be a number >= 0, got {finish_timeout!r}")
        save_dir, offline = lightning_synonyms(save_dir, dir, offline, kwargs)
        check_policy(add_file_policy)
        self._name = name
        self._save_dir = None if save_dir is None else str(save_dir)
        self._offline = bool(offline)
        self._given_run = experiment  # Lightning's `experiment`: log into this run
        self._add_file_policy = add_file_policy
        self._id = id or version
        self._anonymous = anonymous
        self._project = project
        self._checkpoints = CheckpointUploads(log_model, self._upload_checkpoint,
                                              self._delete_checkpoint)
        self._prefix = prefix
        self._checkpoint_name = checkpoint_name
        self._step_metric = step_metric
        self._finish_timeout = float(finish_timeout)
        self._init_kwargs = kwargs
        self._run: Any = None
        self._owns_run = True
        self._lock = threading.Lock()
        self._resume = False
        self._resume_step: int | None = None
        self._step: int | None = None
        self._log_lock = threading.Lock()  # one run.log at a time (extras run on the caller)
        self._watched: list[Any] = []
        self._finalized = False
        self._said_offline = False

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (DDP spawn, checkpoints): the lock, the run and the watched models stay
        behind; a copy starts a run of its own when it first logs."""
        state = self.__dict__.copy()
        del state["_lock"], state["_log_lock"]
        state.update(_run=None, _watched=[], _given_run=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock, self._log_lock = threading.Lock(), threading.Lock()

    # -- the run ---------------------------------------------------------------------------
    @property
    def experiment(self) -> Any:
        """The ``wandb.Run`` (started if needed). Call ``fan.flush()`` first when using it
        from the training thread, so the worker is not using it at the same time."""
        return self._ensure_run()

    def _ensure_run(self) -> Any:
        if self._run is None:
            with self._lock:
                if self._run is None:
                    self._run = self._start()
        return self._run

    def _start(self) -> Any:
        if self._finalized:
            raise RuntimeError("this W&B run was finalized; create a new logger")
        if self._given_run is not None:  # the caller's run: used, never finished by fanlog
            self._owns_run = False
            run = self._given_run
            run.define_metric(self._step_metric)
            run.define_metric("*", step_metric=self._step_metric, step_sync=True)
            return run
        # wandb imports PIL.Image as a LazyModule placed in sys.modules, which another thread
        # importing it meanwhile (the training thread's `import matplotlib.pyplot`) can see
        # half loaded: "partially initialized module 'PIL.Image'". Imported for real first.
        import PIL.Image  # noqa: F401
        import wandb  # here, on the worker thread: importing wandb costs about a second

        save_dir = self._save_dir or os.environ.get("WANDB_DIR") or DEFAULT_SAVE_DIR
        os.makedirs(save_dir, exist_ok=True)
        init: dict[str, Any] = {
            "name": self._name,
            "project": self._project or os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT,
            "dir": save_dir,
            "id": self._id,
        }
        if self._offline:
            init["mode"] = "offline"
        if self._anonymous:
            init["anonymous"] = "allow"
        if self._resume:
            init["resume"] = "allow"
        init.update(self._init_kwargs)
        settings = init.get("settings")
        if settings is None or isinstance(settings, dict):
            # Bound the time run.finish() may spend uploading; the rest stays on disk for
            # `wandb sync`.
            init["settings"] = {"finish_timeout": self._finish_timeout, **(settings or {})}
        from wandb.sdk import wandb_setup

        with _SDK_LOCK:
            active = wandb_setup.singleton().most_recent_active_run
            if active in _OUR_RUNS:  # another logger's run: start this one beside it
                init.setdefault("reinit", "create_new")
            # Starting wandb's service replaces sys.excepthook and sys.exit for good (wandb
            # 0.31, ExitHooks.hook); its excepthook prints the traceback, then calls the one
            # it replaced: a crash printed its traceback twice, and once more per later run.
            hooks = sys.excepthook, sys.exit
            try:
                run = wandb.init(**init)
            finally:
                sys.excepthook, sys.exit = hooks
            self._owns_run = run is not active
            if self._owns_run:
                _OUR_RUNS.add(run)
        if not self._owns_run:
            warnings.warn("fanlog wandb: a W&B run is already active in this process; logging "
                          "to it (it is not finished by fanlog). Pass reinit='create_new' for a "
                          "separate run.", RuntimeWarning, stacklevel=2)
        run.define_metric(self._step_metric)
        run.define_metric("*", step_metric=self._step_metric, step_sync=True)
        if self._resume:
            self._skip_stored(run)
        return run

    def _skip_stored(self, run: Any) -> None:
        """Also skip the steps the resumed run holds past the checkpoint's: a fit that
        crashed after its checkpoint stored them, and the resumed fit logs them again."""
        if run.offline:
            held = stored.logged_step(run, self._step_metric)
        else:
            held = stored.summary_step(run, self._step_metric)
        if held is not None and (self._resume_step is None or held > self._resume_step):
            self._resume_step = self._step = held

    def _accept(self, step: int | None) -> bool:
        """False for a step already stored before a resume; otherwise note it as seen."""
        if step is None:
            return True
        if self._resume_step is not None and step <= self._resume_step:
            return False
        self._step = step if self._step is None else max(self._step, step)
        return True

    def _log(self, key: str, value: Any, step: int | None) -> None:
        row = {prefixed(key, self._prefix): value}
        if step is not None:
            row[self._step_metric] = step
        with self._log_lock:
            self._run.log(row)  # no step=: W&B's step stays monotonic (see module docstring)

    def _log_media(self, key: str, value: Any, step: int | None) -> None:
        """``value`` (a wandb object) under ``key``, from the caller's thread."""
        self._ensure_run()
        if self._accept(step):
            self._log(key, value, step)

    # -- logger hooks ----------------------------------------------------------------------
    def log_hyperparams(self, params: dict[str, Any]) -> None:
        self._ensure_run().config.update(params, allow_val_change=True)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        run = self._ensure_run()
        if not self._accept(step):
            return
        row: dict[str, Any] = dict(add_prefix(metrics, self._prefix))
        row[self._step_metric] = step
        with self._log_lock:
            run.log(row)

    def log_text(self, key: str, text: str, step: int | None) -> None:
        import wandb

        self._ensure_run()
        if self._accept(step):
            self._log(key, convert.text(wandb, text), step)

    def log_image(self, key: str, image: Any, step: int | None, dataformats: str) -> None:
        import wandb

        self._ensure_run()
        if self._accept(step):
            self._log(key, convert.image(wandb, image, dataformats), step)

    def log_histogram(self, key: str, values: Any, step: int | None, bins: int) -> None:
        import wandb

        self._ensure_run()
        if self._accept(step):
            self._log(key, convert.histogram(wandb, values, bins), step)

    def log_audio(self, key: str, audio: Any, step: int | None, sample_rate: int) -> None:
        import wandb

        self._ensure_run()
        if self._accept(step):
            with convert.audio(wandb, audio, sample_rate) as clip:
                self._log(key, clip, step)

    def log_figure(self, key: str, figure: Any, step: int | None) -> None:
        import wandb

        self._ensure_run()
        if self._accept(step):
            self._log(key, wandb.Image(figure), step)

    def log_artifact(self, path: str, name: str | None, metadata: dict[str, Any]) -> None:
        """Checkpoints (``metadata["kind"] == "checkpoint"``) follow ``log_model``; any
        other file or folder is stored at once, as an artifact of type ``kind``."""
        run = self._ensure_run()
        if metadata.get("kind") == "checkpoint":
            self._checkpoints.saved(path, name, metadata)
            return
        target = Path(path)
        self._store(run, target, convert.artifact_name(name or target.name),
                    str(metadata.get("kind") or "file"), metadata, aliases=None)

    def _upload_checkpoint(self, path: str, name: str, metadata: dict[str, Any]) -> Any:
        """A new version of ``model-<run id>`` (Lightning's name), aliased ``latest`` and,
        when it is the best so far, ``best`` (W&B moves an alias to its newest version)."""
        name = self._checkpoint_name or f"model-{self._run.id}"
        aliases = ["latest", "best"] if metadata.get("best") else ["latest"]
        return self._store(self._run, Path(path), convert.artifact_name(name), "model",
                           metadata, aliases)

    def _delete_checkpoint(self, artifact: Any) -> None:
        """Delete a version whose file the checkpoint callback deleted: online through W&B's
        API; an offline run cannot (its records are final), which is said once."""
        if self._run.offline:
            if not self._said_offline:
                self._said_offline = True
                warnings.warn("fanlog wandb: an offline run cannot delete artifact versions; "
                              "checkpoints rotated out by save_top_k stay in it (delete them "
                              "in the W&B app after `wandb sync`)", RuntimeWarning, stacklevel=2)
            return
        artifact.wait()
        artifact.delete(delete_aliases=True)

    def _store(self, run: Any, path: Path, name: str, kind: str, metadata: dict[str, Any],
               aliases: list[str] | None) -> Any:
        import wandb

        artifact = wandb.Artifact(name, type=kind, metadata=metadata)
        if path.is_dir():
            artifact.add_dir(str(path), policy=self._add_file_policy)
        else:
            artifact.add_file(str(path), name=path.name, policy=self._add_file_policy)
        return run.log_artifact(artifact, aliases=aliases)

    def watch(self, model: Any, log: str | None, log_freq: int) -> None:
        """wandb.watch: its hooks run in the model's forward/backward (the training thread)
        and log to the global ``wandb.run``, merged into the next row the worker logs."""
        import wandb

        run = self._ensure_run()
        if wandb.run is not run:
            raise RuntimeError("wandb.watch logs to the global wandb.run, which is not this "
                               "backend's run (another W&B run was active when it started, "
                               "or reinit='create_new' was passed)")
        run.watch(model, log=log, log_freq=log_freq, idx=len(self._watched))
        self._watched.append(model)

    def finalize(self, status: Status) -> None:
        """Upload pending checkpoints (success only), unhook watched models, finish the run
        with W&B's exit code, and stop wandb's service process when no run is left."""
        if self._finalized:
            return
        self._finalized = True
        run = self._run
        if run is None:
            return
        status = Status(status)
        try:
            self._checkpoints.finish(status is Status.SUCCESS)
        finally:
            for model in self._watched:
                run.unwatch(model)
            if self._owns_run:
                run.finish(exit_code=EXIT_CODES[status])
                _teardown_if_idle()

    # -- resume ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The run id and the last step stored (None before anything was logged)."""
        run_id = self._run.id if self._run is not None else self._id
        return {"id": run_id, "step": self._step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue run ``state["id"]`` (``resume="allow"``); steps up to ``state["step"]``,
        or up to the highest step the run already holds if that is later, are not stored
        again (README, Resume)."""
        if self._run is not None:
            raise RuntimeError("load_state_dict must come before anything is logged")
        run_id, step = state.get("id"), state.get("step")
        if run_id is not None:
            if not isinstance(run_id, str):
                raise TypeError(f"state['id'] must be a string, got {run_id!r}")
            self._id, self._resume = run_id, True
        if step is not None:
            self._resume_step = self._step = int(step)


def _teardown_if_idle() -> None:
    """Stop wandb's service process (wandb-core) unless another run in this process still
    uses it; otherwise it would live until the interpreter exits."""
    import wandb
    from wandb.sdk import wandb_setup

    with _SDK_LOCK:
        if wandb_setup.singleton().most_recent_active_run is not None:
            return
        try:
            wandb.teardown()
        except SystemExit as exc:  # wandb exits when its service reports an error
            raise RuntimeError(f"wandb service ended with exit code {exc.code}") from None
