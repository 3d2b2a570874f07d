"""``comet``: a Comet experiment, online or as an offline archive (``<key>.zip``).

comet_ml is imported and the experiment started at the first hook that needs it, on the
backend's worker thread (the import alone costs seconds). The fan-out calls every hook from
that one thread, which is how comet_ml is meant to be used: an experiment keeps per-thread
state (its context) and hands what it records to its own streamer thread through a queue.
"""

from __future__ import annotations

import re
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

from fanlog.backend import CheckpointUploads, add_prefix, check_prefix
from fanlog.media import to_hwc_uint8, to_wav_bytes
from fanlog.status import Status
from fanlog_comet import options, stored
from fanlog_comet._sdk import start_experiment

_KEY = re.compile(r"[A-Za-z0-9]{32,50}")


class CometLogger:
    """Log to Comet. Options follow Lightning's CometLogger (2.6 names and the older ones).

    ``experiment_key`` continues that existing experiment (``ExistingExperiment``, or
    ``ExistingOfflineExperiment`` offline); with ``mode="create"`` it is the key of a new one.
    ``offline=True`` (or Lightning 2.6's ``online=False``) writes
    ``<offline_directory>/<key>.zip`` (default ``<save_dir>/comet``) for ``comet upload`` and
    never reaches the network. ``project`` / ``project_name`` and ``name`` /
    ``experiment_name`` are the same options under Lightning's new and old names. ``prefix``
    is joined before every metric name as ``prefix-name`` (:func:`fanlog.backend.add_prefix`);
    a metric named ``epoch`` goes to Comet's epoch field, as in Lightning. ``log_model``
    follows the one checkpoint policy (:class:`fanlog.backend.CheckpointUploads`). Other
    keyword options are comet_ml experiment options (e.g. ``log_env_details=True``, which
    this backend turns off by default, see README); an option comet_ml does not know is an
    error.
    """

    def __init__(
        self,
        api_key: str | None = None,
        workspace: str | None = None,
        project_name: str | None = None,
        experiment_name: str | None = None,
        experiment_key: str | None = None,
        offline: bool | None = None,
        offline_directory: str | Path | None = None,
        save_dir: str | Path | None = None,
        prefix: str = "",
        log_model: bool | Literal["all"] = False,
        *,
        project: str | None = None,
        name: str | None = None,
        online: bool | None = None,
        mode: Literal["get_or_create", "get", "create"] | None = None,
        **experiment_options: Any,
    ) -> None:
        project_name = options.one_of("project", project, "project_name", project_name)
        experiment_name = options.one_of("name", name, "experiment_name", experiment_name)
        for option, value in (("api_key", api_key), ("workspace", workspace),
                              ("project_name", project_name),
                              ("experiment_name", experiment_name)):
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"{option} must be a non-empty string or None")
        if experiment_key is not None:
            _check_key(experiment_key)
        self.offline = options.offline(offline, online)
        if mode not in options.MODES:
            raise ValueError(f"mode must be one of {options.MODES}, got {mode!r}")
        if mode == "get" and experiment_key is None:
            raise ValueError("mode='get' continues an existing experiment: pass its "
                             "experiment_key")
        self.tags = options.check_experiment_options(experiment_options)
        self._api_key = api_key  # given to comet_ml only: never in repr, state or logs
        self.workspace = workspace
        self.project_name = project_name
        self.experiment_name = experiment_name
        self.mode = mode
        self.offline_directory = Path(
            offline_directory if offline_directory is not None
            else Path(save_dir if save_dir is not None else "fanlog_logs", "comet"))
        self.prefix = check_prefix(prefix)
        self.experiment_options = experiment_options
        self._checkpoints = CheckpointUploads(log_model, self._upload_checkpoint,
                                              mark_best=self._mark_best)
        self._experiment_key = experiment_key
        self._experiment: Any = None
        self._start_lock = threading.Lock()
        self._ended = False
        self._last_step: int | None = None
        self._resumed = False
        self._resume_step: int | None = None

    def __repr__(self) -> str:
        where = f"offline_directory={str(self.offline_directory)!r}" if self.offline else "online"
        return (f"CometLogger({where}, workspace={self.workspace!r}, "
                f"project_name={self.project_name!r})")

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
        """The comet_ml experiment, started if need be. The fan-out uses it from the
        backend's worker thread: call ``fan.flush()`` before using it from another."""
        if self._experiment is None:
            with self._start_lock:
                if self._experiment is None:
                    self._experiment = self._start()
        return self._experiment

    def _start(self) -> Any:
        exp = start_experiment(
            api_key=self._api_key, workspace=self.workspace, project_name=self.project_name,
            experiment_key=self._experiment_key, offline=self.offline,
            offline_directory=self.offline_directory, options=self.experiment_options,
            existing=self._resumed or self.mode != "create")
        if self.experiment_name is not None:
            exp.set_name(self.experiment_name)
        if self.tags:
            exp.add_tags(self.tags)
        if self._resumed:
            self._skip_stored(exp)
        return exp

    def _skip_stored(self, exp: Any) -> None:
        """Also skip the steps the experiment holds past the checkpoint's: a fit that
        crashed after its checkpoint stored them, and the resumed fit logs them again."""
        if self.offline:
            held = stored.archived_step(self.offline_directory, exp.get_key())
        else:
            held = stored.server_step(exp)
        if held is not None and (self._resume_step is None or held > self._resume_step):
            self._resume_step = self._last_step = held

    # -- data ------------------------------------------------------------------------------
    def log_hyperparams(self, params: dict[str, Any]) -> None:
        # Comet stores nested parameters itself ("opt|lr", shown nested in its UI).
        self.experiment.log_parameters(params)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        exp = self.experiment  # first: a resumed start learns which steps are stored
        if self._resume_step is not None and step <= self._resume_step:
            return  # stored before the restart
        epoch = metrics.get("epoch")
        if epoch is not None:  # Comet's own epoch field, as Lightning sends it
            metrics = {k: v for k, v in metrics.items() if k != "epoch"}
            epoch = int(epoch) if float(epoch).is_integer() else epoch
        metrics = add_prefix(metrics, self.prefix)
        if any("\n" in name for name in metrics):
            metrics = {metric_name(name): value for name, value in metrics.items()}
        exp.log_metrics(metrics, step=step, epoch=epoch)
        self._last_step = step if self._last_step is None else max(self._last_step, step)

    def log_text(self, key: str, text: str, step: int | None) -> None:
        # Comet's text samples have no name: the key goes into the sample's metadata.
        self.experiment.log_text(text, step=self._step(step), metadata={"key": key})

    def log_image(self, key: str, image: np.ndarray, step: int | None, dataformats: str) -> None:
        from PIL import Image

        pixels = to_hwc_uint8(image, dataformats)
        # A PIL image is stored as it is; a numpy array Comet would stretch from its own
        # min..max to 0..255 (unless given image_minmax) and first try to stat as a path.
        picture = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
        self.experiment.log_image(picture, name=key, step=self._step(step))

    def log_histogram(self, key: str, values: np.ndarray, step: int | None, bins: int) -> None:
        # Comet bins on its own fixed logarithmic scale (a "3D histogram"), so ``bins`` cannot
        # be honoured; the counts are exact. Comet needs a step here.
        step = self._step(step)
        self.experiment.log_histogram_3d(values, name=key, step=0 if step is None else step)

    def log_audio(self, key: str, audio: np.ndarray, step: int | None, sample_rate: int) -> None:
        with tempfile.TemporaryDirectory(prefix="fanlog-comet-") as tmp:
            path = Path(tmp, "clip.wav")
            path.write_bytes(to_wav_bytes(audio, sample_rate))
            # comet_ml copies the file before returning.
            self.experiment.log_audio(str(path), sample_rate=sample_rate, file_name=f"{key}.wav",
                                      step=self._step(step), metadata={"sample_rate": sample_rate})

    def log_figure(self, key: str, figure: Any, step: int | None) -> None:
        self.experiment.log_figure(figure_name=key, figure=figure, step=self._step(step))

    def log_graph(self, model: Any, example_input: Any) -> None:
        # Comet's graph is the module's text form: no tracing, so no use for the input.
        self.experiment.set_model_graph(model)

    def log_artifact(self, path: str, name: str | None, metadata: dict[str, Any]) -> None:
        """Checkpoints follow ``log_model``; models go to Comet's model registry; other files
        and folders are assets."""
        if metadata.get("kind") == "checkpoint":
            self._checkpoints.saved(path, name, metadata)
            return
        source = Path(path)
        name = name or source.name
        step = metadata.get("step")
        step = step if isinstance(step, int) and not isinstance(step, bool) else None
        exp = self.experiment
        if metadata.get("kind") == "model":
            exp.log_model(name, str(source), metadata=metadata)
        elif source.is_dir():
            for file in sorted(f for f in source.rglob("*") if f.is_file()):
                exp.log_asset(str(file), file_name=f"{name}/{file.relative_to(source).as_posix()}",
                              step=step, metadata=metadata)
        else:
            exp.log_asset(str(source), file_name=name, step=step, metadata=metadata)

    def _upload_checkpoint(self, path: str, name: str, metadata: dict[str, Any]) -> str:
        """To Comet's model registry, as model ``name``. (comet_ml cannot delete a model of
        a running experiment: rotated-out checkpoints stay.)"""
        self.experiment.log_model(name, path, metadata=metadata)
        return name

    def _mark_best(self, name: str, metadata: dict[str, Any]) -> None:
        exp = self.experiment
        exp.log_other("best_model_path", name)
        if metadata.get("best_score") is not None:
            exp.log_other("best_model_score", metadata["best_score"])

    def _step(self, step: int | None) -> int | None:
        """No step given: the last metrics step. (Comet would use its "current step", which
        every record with an explicit step moves, back or forth.)"""
        return self._last_step if step is None else step

    # -- run control -----------------------------------------------------------------------
    def save(self) -> None:
        # Online this waits for what was sent; offline Comet writes its archive at the end.
        if self._experiment is not None and not self._ended:
            self._experiment.flush()

    def finalize(self, status: Status) -> None:
        """End the experiment. Comet knows finished and crashed: a failed or interrupted
        run is reported crashed the way comet_ml's own exception hook does it, and the
        status is also kept as the experiment's "status" other value."""
        if self._ended or (self._experiment is None and not self._checkpoints.pending):
            return
        status = Status(status)
        try:
            self._checkpoints.finish(status is Status.SUCCESS)  # log_model=True uploads
        finally:
            self._ended = True
            exp = self.experiment
            exp.log_other("status", status.value)
            if status is not Status.SUCCESS:
                exp._report_experiment_error(f"fanlog: run {status.value}", has_crashed=True)
            exp.end()  # offline: ~1 s (the writer thread's poll) plus zipping

    def state_dict(self) -> dict[str, Any]:
        key = self._experiment_key if self._experiment is None else self._experiment.get_key()
        if key is None:
            key = self.experiment.get_key()
        return {"experiment_key": key, "offline": self.offline, "step": self._last_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self._experiment is not None:
            raise RuntimeError("load_state_dict must come before anything is logged")
        self._experiment_key = _check_key(state["experiment_key"])
        self._resume_step = self._last_step = state.get("step")
        self._resumed = True


def _check_key(key: Any) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(
            f"experiment_key must be 32 to 50 letters and digits (a Comet experiment key), "
            f"got {key!r}")
    return key


def metric_name(name: str) -> str:
    """``name`` as Comet keeps it: its message schema (``^(.*)$``) refuses a newline inside
    a metric name, so one is written as the two characters ``\\n`` (warned per name)."""
    if "\n" not in name:
        return name
    stored = name.replace("\n", "\\n")
    warnings.warn(f"fanlog-comet: Comet does not accept a newline in a metric name; "
                  f"{name!r} is logged as {stored!r}", stacklevel=2)
    return stored
