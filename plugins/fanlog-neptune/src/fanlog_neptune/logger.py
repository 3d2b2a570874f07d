"""``neptune``: a Neptune run through the neptune 1.x client (async, sync, offline or debug).

neptune is imported and the run started at the first hook that needs it, on the backend's
worker thread (the import alone costs 4-9 s). The fan-out calls every hook from that one
thread; a neptune Run serialises its own operations under a lock and hands them to its
operation processor (a disk queue, plus a sender thread in async mode), so one thread
driving it is the simplest safe use.
"""

from __future__ import annotations

import logging
import math
import threading
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

from fanlog.backend import CheckpointUploads, check_prefix, prefixed
from fanlog.media import to_hwc_uint8, to_wav_bytes
from fanlog.status import Status
from fanlog_neptune import stored
from fanlog_neptune._sdk import start_run

log = logging.getLogger("fanlog.neptune")

MODES = ("async", "sync", "offline", "debug")
#: Modes in which a run lives on the server and can be continued by its id.
_SERVER_MODES = ("async", "sync")
#: Namespaces (under the prefix) per kind of record, so that one key can name a text, an
#: image and a clip at once (a Neptune path holds one type); metrics stay at the top, as in
#: Lightning. NONFINITE holds NaN/inf metric values as text.
TEXT, IMAGES, AUDIO, FIGURES, NONFINITE = "text", "images", "audio", "figures", "nonfinite"


class NeptuneLogger:
    """Log to a Neptune run. Options follow Lightning's NeptuneLogger.

    Everything goes under the ``prefix`` namespace (default ``"training"``, as in Lightning):
    ``training/<metric>``, ``training/hyperparams``, ``training/model/checkpoints/<name>``.
    That is the one prefix rule (:func:`fanlog.backend.prefixed`) with Neptune's namespace
    separator ``/`` where the other backends use ``-``. ``log_model`` follows the one
    checkpoint policy (:class:`fanlog.backend.CheckpointUploads`): False (default), True (at
    a successful end, the checkpoints the callback keeps) or ``"all"`` (each when saved; the
    ones the callback rotates out are deleted from the run); ``model/best_model_path`` and
    ``model/best_model_score`` name the best, as in Lightning. Older Lightning's
    ``log_model_checkpoints=True`` means ``"all"``. ``with_id`` continues that run
    (async/sync only). Other keyword options go to ``neptune.init_run`` (e.g.
    ``tags=[...]``, ``capture_hardware_metrics=True``).
    """

    def __init__(
        self,
        api_key: str | None = None,
        project: str | None = None,
        name: str | None = None,
        with_id: str | None = None,
        mode: str = "async",
        prefix: str = "training",
        log_model: bool | Literal["all"] = False,
        log_model_checkpoints: bool | None = None,
        stop_timeout: float = 20.0,
        **run_options: Any,
    ) -> None:
        for option, value in (("api_key", api_key), ("project", project), ("name", name),
                              ("with_id", with_id)):
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"{option} must be a non-empty string or None")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if with_id is not None and mode not in _SERVER_MODES:
            raise ValueError(f"with_id needs a server run: neptune cannot continue a run in "
                             f"{mode!r} mode (use 'async' or 'sync')")
        check_prefix(prefix)
        if log_model_checkpoints is not None:
            if not isinstance(log_model_checkpoints, bool):
                raise TypeError(f"log_model_checkpoints must be True or False, got "
                                f"{log_model_checkpoints!r}")
            if log_model not in (False, "all" if log_model_checkpoints else False):
                raise ValueError(f"log_model={log_model!r} and log_model_checkpoints="
                                 f"{log_model_checkpoints} disagree; pass log_model only")
            log_model = "all" if log_model_checkpoints else False
        if not isinstance(stop_timeout, int | float) or stop_timeout < 0:
            raise ValueError(f"stop_timeout must be a number of seconds >= 0, got {stop_timeout!r}")
        self._api_key = api_key  # given to neptune only: never in repr, state or logs
        self.project = project
        self.name = name
        self.mode = mode
        self.prefix = prefix.strip("/")
        self._checkpoints = CheckpointUploads(log_model, self._upload_checkpoint,
                                              self._delete_checkpoint, self._mark_best)
        self.stop_timeout = float(stop_timeout)
        self.run_options = run_options
        self._with_id = with_id
        self._run: Any = None
        self._start_lock = threading.Lock()
        self._ended = False
        self._last_step: int | None = None
        self._resume_step: int | None = None
        self._resuming = False
        self._earlier_dirs: list[str] = []  # offline folders of the runs this one continues

    def __repr__(self) -> str:
        return f"NeptuneLogger(mode={self.mode!r}, project={self.project!r}, name={self.name!r})"

    def __getstate__(self) -> dict[str, Any]:
        """Picklable before the run starts (DDP spawn and checkpoints pickle backends)."""
        state = self.__dict__.copy()
        del state["_start_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._start_lock = threading.Lock()

    @property
    def experiment(self) -> Any:
        """The neptune Run, started if need be. The fan-out uses it from the backend's worker
        thread: call ``fan.flush()`` before using it from another."""
        if self._run is None:
            with self._start_lock:
                if self._run is None:
                    self._run = start_run(api_key=self._api_key, project=self.project,
                                          name=self.name, with_id=self._with_id, mode=self.mode,
                                          options=self.run_options)
                    if self._resuming:
                        self._skip_stored(self._run)
        return self._run

    def _skip_stored(self, run: Any) -> None:
        """Skip also the steps after the checkpoint that the earlier run(s) hold: a fit that
        crashed after its checkpoint stored them, and the resumed fit logs them again."""
        found = [stored.offline_step(self._earlier_dirs, self.prefix, NONFINITE)]
        if self._with_id is not None:
            found.append(stored.server_step(run, self.prefix, NONFINITE))
        held = max((step for step in found if step is not None), default=None)
        if held is not None and (self._resume_step is None or held > self._resume_step):
            log.info("neptune: steps up to %s are stored already (checkpoint at step %s); "
                     "they are skipped", held, self._resume_step)
            self._resume_step = self._last_step = held

    @property
    def log_model(self) -> bool | str:
        return self._checkpoints.log_model

    def _path(self, key: str) -> str:
        return prefixed(key, self.prefix, "/")

    # -- data ------------------------------------------------------------------------------
    def log_hyperparams(self, params: dict[str, Any]) -> None:
        from neptune.utils import stringify_unsupported

        # Nested dicts become namespaces; lists and None, which neptune cannot store, text.
        self.experiment[self._path("hyperparams")] = stringify_unsupported(params)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        run = self.experiment  # a resumed run learns at its start what is stored already
        if self._resume_step is not None and step <= self._resume_step:
            return  # stored before the restart
        for name, value in metrics.items():
            if math.isfinite(value):
                run[self._path(name)].append(value, step=step)
            else:
                # A Neptune 1.x float series cannot hold NaN or infinities (it would skip
                # them with a warning): keep them, as text, where they can be seen.
                run[self._path(f"{NONFINITE}/{name}")].append(repr(value), step=step)
        self._last_step = step if self._last_step is None else max(self._last_step, step)

    def log_text(self, key: str, text: str, step: int | None) -> None:
        # A string series; neptune keeps the first 1000 characters of each value.
        self.experiment[self._path(f"{TEXT}/{key}")].append(text, step=step)

    def log_image(self, key: str, image: np.ndarray, step: int | None, dataformats: str) -> None:
        from neptune.types import File
        from PIL import Image

        pixels = to_hwc_uint8(image, dataformats)
        picture = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
        self.experiment[self._path(f"{IMAGES}/{key}")].append(File.as_image(picture), step=step)

    def log_audio(self, key: str, audio: np.ndarray, step: int | None, sample_rate: int) -> None:
        from neptune.types import File

        # Neptune's file series hold images only: one file per step.
        step = self._last_step if step is None else step
        clip = File.from_content(to_wav_bytes(audio, sample_rate), extension="wav")
        self.experiment[self._path(f"{AUDIO}/{key}/{0 if step is None else step}")].upload(clip)

    def log_figure(self, key: str, figure: Any, step: int | None) -> None:
        from neptune.types import File

        self.experiment[self._path(f"{FIGURES}/{key}")].append(File.as_image(figure), step=step)

    def log_graph(self, model: Any, example_input: Any) -> None:
        from neptune.types import File

        # The module's text form, where Lightning's NeptuneLogger puts its model summary:
        # no tracing, so no use for the input.
        summary = File.from_content(str(model), extension="txt")
        self.experiment[self._path("model/summary")].upload(summary)

    def log_artifact(self, path: str, name: str | None, metadata: dict[str, Any]) -> None:
        """Checkpoints follow ``log_model`` (``model/checkpoints/<name>``); models go to
        ``model/checkpoints`` at once; other files and folders to ``artifacts/<name>``."""
        kind = metadata.get("kind")
        if kind == "checkpoint":
            self._checkpoints.saved(path, name, metadata)
        else:
            self._store(path, name or Path(path).name, metadata,
                        "model/checkpoints" if kind == "model" else "artifacts")

    def _store(self, path: str, name: str, metadata: dict[str, Any], group: str) -> str:
        from neptune.types import File
        from neptune.utils import stringify_unsupported

        source, stem = Path(path), Path(name)
        base = self._path(f"{group}/{stem.with_suffix('').as_posix()}")
        run = self.experiment
        if source.is_dir():
            # Neptune's folder type; it reads the files when it uploads them.
            run[f"{base}/files"].upload_files(str(source))
        else:
            # Copied now (into neptune's own storage): checkpoints get rotated away.
            extension = (stem.suffix or source.suffix).lstrip(".") or None
            with source.open("rb") as stream:
                run[f"{base}/file"].upload(File.from_stream(stream, extension=extension))
        if metadata:
            run[f"{base}/metadata"] = stringify_unsupported(metadata)
        return base

    def _upload_checkpoint(self, path: str, name: str, metadata: dict[str, Any]) -> str:
        return self._store(path, name, metadata, "model/checkpoints")

    def _delete_checkpoint(self, base: str) -> None:
        """Remove a checkpoint the callback rotated out (as Lightning's NeptuneLogger does)."""
        del self.experiment[base]

    def _mark_best(self, base: str, metadata: dict[str, Any]) -> None:
        run = self.experiment
        run[self._path("model/best_model_path")] = metadata.get("best_path") or base
        if metadata.get("best_score") is not None:
            run[self._path("model/best_model_score")] = metadata["best_score"]

    # -- run control -----------------------------------------------------------------------
    def save(self) -> None:
        if self._run is not None and not self._ended:
            self._run.wait(disk_only=True)  # on disk; sending is the async sender's job

    def finalize(self, status: Status) -> None:
        """Stop the run. Neptune marks a run failed with ``sys/failed`` (as its own exception
        hook does); the status is also kept under ``<prefix>/status`` (as Lightning does)."""
        if self._ended or (self._run is None and not self._checkpoints.pending):
            return
        status = Status(status)
        try:
            self._checkpoints.finish(status is Status.SUCCESS)  # log_model=True uploads
        finally:
            self._ended = True
            run = self.experiment
            run[self._path("status")] = status.value
            if status is not Status.SUCCESS:
                run["sys/failed"] = True
            # Bounded: what async mode has not sent by then stays on disk for `neptune sync`.
            run.stop(seconds=self.stop_timeout)

    def state_dict(self) -> dict[str, Any]:
        run_id = self._with_id
        if self.mode in _SERVER_MODES and run_id is None:
            run_id = self.experiment["sys/id"].fetch()
        offline_dirs = list(self._earlier_dirs)
        if self.mode == "offline" and self._run is not None:
            offline_dirs.append(stored.offline_dir(self._run))
        return {"run_id": run_id, "mode": self.mode, "step": self._last_step,
                "offline_dirs": offline_dirs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self._run is not None:
            raise RuntimeError("load_state_dict must come before anything is logged")
        self._resume_step = self._last_step = state.get("step")
        self._resuming = True
        self._earlier_dirs = list(state.get("offline_dirs", []))
        if self.mode in _SERVER_MODES and state.get("run_id"):
            self._with_id = state["run_id"]
        else:
            message = (f"fanlog neptune: neptune can continue only server runs (async/sync "
                       f"mode, with an id); this {self.mode!r} run goes on in a new run, from "
                       f"step {self._resume_step} on")
            log.warning(message)  # into run.log
            warnings.warn(message, RuntimeWarning, stacklevel=2)  # and on the terminal
