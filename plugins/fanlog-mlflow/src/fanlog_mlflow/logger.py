"""``mlflow``: one MLflow run per fan-out, written with ``MlflowClient`` on the worker thread.

``MlflowClient`` rather than the fluent ``mlflow.log_*`` API: the fluent API keeps the active
run in process-wide state, which two fan-outs (or two threads) would share. MLflow itself is
imported only when the run starts, on the worker, because its import costs ~1-2 s.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fanlog.backend import CheckpointUploads, add_prefix, check_prefix
from fanlog.media import to_hwc_uint8
from fanlog.params import flatten
from fanlog.status import Status
from fanlog_mlflow import checkpoints
from fanlog_mlflow.names import (
    MAX_PARAM_VALUE,
    MAX_TAG_VALUE,
    MEDIA_BAD,
    KeyCleaner,
    step_file,
    truncated,
)

if TYPE_CHECKING:
    import numpy as np
    from mlflow import MlflowClient

RUN_STATUS = {Status.SUCCESS: "FINISHED", Status.FAILED: "FAILED", Status.INTERRUPTED: "KILLED"}
# Tracking stores that have no place of their own for artifacts: without an
# artifact_location MLflow would put them in ./mlruns under the working directory.
_DATABASES = ("sqlite", "postgresql", "mysql", "mssql")


class MLFlowLogger:
    """Options follow Lightning's ``MLFlowLogger``.

    ``tracking_uri`` defaults to ``$MLFLOW_TRACKING_URI``, else to a SQLite database
    ``save_dir/mlflow.db`` with artifacts in ``save_dir/mlartifacts``. ``run_id`` continues
    an existing run. ``prefix`` is joined before every metric name as ``prefix-name``.
    ``log_model`` follows the one checkpoint policy (:class:`fanlog.backend.CheckpointUploads`):
    False ignores checkpoints, True uploads at a successful end the ones the callback keeps,
    ``"all"`` each one as it comes (and deletes the ones it rotates out, where the artifact
    store can delete); each goes to ``checkpoints/<stem>/`` with Lightning's
    ``metadata.yaml`` and ``aliases.txt``, and the run's ``best_checkpoint`` tag names the best
    (``best_checkpoint_score`` its score). ``synchronous``: False logs metrics in the
    background (MLflow's async logging; ``save`` and ``finalize`` wait for it), None follows
    ``MLFLOW_ENABLE_ASYNC_LOGGING``. ``artifact_location`` applies when the experiment is
    created. A new run gets the tags Lightning's MLFlowLogger sets (``mlflow.user``,
    ``mlflow.source.name``, ``mlflow.source.type``, ...: MLflow's ``resolve_tags``).
    """

    def __init__(
        self,
        *,
        experiment_name: str = "fanlog",
        run_name: str | None = None,
        tracking_uri: str | None = None,
        tags: dict[str, Any] | None = None,
        save_dir: str | Path = "fanlog_logs",
        log_model: bool | Literal["all"] = False,
        prefix: str = "",
        artifact_location: str | None = None,
        run_id: str | None = None,
        synchronous: bool | None = None,
    ) -> None:
        if not isinstance(experiment_name, str) or not experiment_name:
            raise ValueError(f"experiment_name must be a non-empty string, got {experiment_name!r}")
        if synchronous is not None and not isinstance(synchronous, bool):
            raise TypeError(f"synchronous must be True, False or None, got {synchronous!r}")
        if tags is not None and not isinstance(tags, dict):
            raise TypeError(f"tags must be a dict, got {type(tags).__name__}")
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.tags = dict(tags or {})
        self.save_dir = Path(save_dir).absolute()
        self.prefix = check_prefix(prefix)
        self.synchronous = synchronous
        self._own_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        self._default_uri = f"sqlite:///{self.save_dir / 'mlflow.db'}"
        self.tracking_uri = self._own_uri or self._default_uri
        scheme = self.tracking_uri.split(":", 1)[0].split("+", 1)[0]
        if artifact_location is None and scheme in _DATABASES:
            artifact_location = (self.save_dir / "mlartifacts").as_uri()
        self.artifact_location = artifact_location
        self._run_id = run_id
        self._experiment_id: str | None = None
        self._client: MlflowClient | None = None
        self._lock = threading.Lock()
        self._resumed = False
        self._skip_through: int | None = None  # steps up to here are stored already (resume)
        self._last_step: int | None = None
        self._params: dict[str, str] = {}
        self._keys = KeyCleaner()  # metric, param and tag names
        self._media = KeyCleaner(MEDIA_BAD)  # image keys, text and figure paths
        self._pending: list[Any] = []  # async logging operations not waited for yet
        self._checkpoints = CheckpointUploads(log_model, self._upload_checkpoint,
                                              self._delete_checkpoint, self._mark_best)
        self._finalized = False

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (DDP spawn, checkpoints): a copy carries the run id, not the client or
        the lock, and reopens the run when it is used."""
        state = self.__dict__.copy()
        del state["_lock"]
        state["_client"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- the native objects (Lightning's escape hatch) ---------------------------------------
    @property
    def experiment(self) -> MlflowClient:
        """The ``MlflowClient`` of this run (starts the run if needed); see :attr:`run_id`."""
        return self._run()[0]

    @property
    def log_model(self) -> bool | str:
        return self._checkpoints.log_model

    @property
    def run_id(self) -> str:
        return self._run()[1]

    @property
    def experiment_id(self) -> str:
        self._run()
        return self._experiment_id  # type: ignore[return-value]

    # -- starting the run (worker thread) ----------------------------------------------------
    def _run(self) -> tuple[MlflowClient, str]:
        with self._lock:
            if self._client is None:
                self._client = self._start()
        return self._client, self._run_id  # type: ignore[return-value]

    def _start(self) -> MlflowClient:
        from mlflow import MlflowClient
        from mlflow.entities import RunTag
        from mlflow.tracking.context.registry import resolve_tags

        self._sync = self.synchronous if self.synchronous is not None else not _async_default()
        if self.tracking_uri == self._default_uri:
            self.save_dir.mkdir(parents=True, exist_ok=True)
        client = MlflowClient(tracking_uri=self.tracking_uri)
        tags = {self._keys(k): truncated("tag", k, v, MAX_TAG_VALUE) for k, v in self.tags.items()}
        if self._run_id is None:
            run = client.create_run(self._experiment(client), run_name=self.run_name,
                                    tags=resolve_tags(tags))  # as Lightning's MLFlowLogger
            self._run_id = run.info.run_id
        else:
            run = client.get_run(self._run_id)
            client.update_run(self._run_id, status="RUNNING", name=self.run_name)
            if tags:
                client.log_batch(self._run_id, tags=[RunTag(k, v) for k, v in tags.items()],
                                 synchronous=True)
            self._params = dict(run.data.params)
            if self._resumed:
                stored = [m.step for m in run.data.to_proto().metrics]  # latest step per key
                marks = [s for s in (self._skip_through, *stored) if s is not None]
                self._skip_through = max(marks, default=None)
        self._experiment_id = run.info.experiment_id
        return client

    def _experiment(self, client: MlflowClient) -> str:
        from mlflow.exceptions import MlflowException

        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            try:
                return client.create_experiment(self.experiment_name,
                                                artifact_location=self.artifact_location)
            except MlflowException as exc:  # runs started together: another one created it
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                experiment = client.get_experiment_by_name(self.experiment_name)
        return experiment.experiment_id

    # -- hooks -------------------------------------------------------------------------------
    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """One ``log_batch`` per logging step (MlflowClient splits it at the server's limit
        of 1000 metrics per request)."""
        from mlflow.entities import Metric

        client, run_id = self._run()
        if self._skip_through is not None and step <= self._skip_through:
            return  # stored before the restart
        now = int(time.time() * 1000)
        metrics = add_prefix(metrics, self.prefix)
        names = self._keys.many(list(metrics))
        batch = [Metric(k, v, now, step) for k, v in zip(names, metrics.values(), strict=True)]
        self._batch(client, run_id, metrics=batch)
        self._last_step = step if self._last_step is None else max(self._last_step, step)

    def log_hyperparams(self, params: dict[str, Any]) -> None:
        """Flattened with ``/``; MLflow params cannot change once set, so a changed value is
        skipped with a warning rather than failing the whole batch."""
        from mlflow.entities import Param

        client, run_id = self._run()
        new: dict[str, str] = {}
        changed = []
        for key, value in flatten(params).items():
            key = self._keys(key)
            text = truncated("param", key, value, MAX_PARAM_VALUE)
            old = self._params.get(key, new.get(key))
            if old is None:
                new[key] = text
            elif old != text:
                changed.append(key)
        if changed:
            warnings.warn(f"fanlog-mlflow: MLflow params cannot change once logged; "
                          f"{sorted(changed)} keep their first values", stacklevel=2)
        if new:
            client.log_batch(run_id, params=[Param(k, v) for k, v in new.items()],
                             synchronous=True)
            self._params.update(new)

    def log_text(self, key: str, text: str, step: int | None) -> None:
        client, run_id = self._run()
        client.log_text(run_id, text, step_file("text", self._media(key), step, "txt"))

    def log_image(self, key: str, image: np.ndarray, step: int | None, dataformats: str) -> None:
        """MLflow's image series (the UI's step slider): ``images/<key>+step+<n>+...png``.
        Each file's name is unique, so a step stored before a restart is skipped."""
        client, run_id = self._run()
        if self._skip_through is not None and step is not None and step <= self._skip_through:
            return
        client.log_image(run_id, to_hwc_uint8(image, dataformats), key=self._media(key),
                         step=step, synchronous=True)

    def log_figure(self, key: str, figure: Any, step: int | None) -> None:
        client, run_id = self._run()
        client.log_figure(run_id, figure, step_file("figures", self._media(key), step, "png"))

    def log_artifact(self, path: str, name: str | None, metadata: dict[str, Any]) -> None:
        """Files and folders go to the artifact root under ``name``; checkpoints
        (``metadata["kind"] == "checkpoint"``) as ``log_model`` says."""
        if metadata.get("kind") == "checkpoint":
            self._checkpoints.saved(path, name, metadata)
        else:
            self._upload(path, name or Path(path).name)

    def _upload_checkpoint(self, path: str, name: str, metadata: dict[str, Any]) -> str:
        folder = checkpoints.folder(name)
        self._upload(path, f"{folder}/{name}")
        client, run_id = self._run()
        checkpoints.log_metadata(client, run_id, folder, name, metadata)
        return folder

    def _delete_checkpoint(self, folder: str) -> None:
        client, run_id = self._run()
        checkpoints.delete(client, run_id, folder)

    def _mark_best(self, folder: str, metadata: dict[str, Any]) -> None:
        from mlflow.entities import RunTag

        client, run_id = self._run()
        tags = [RunTag("best_checkpoint", folder)]
        if metadata.get("best_score") is not None:
            tags.append(RunTag("best_checkpoint_score", str(metadata["best_score"])))
        client.log_batch(run_id, tags=tags, synchronous=True)

    def save(self) -> None:
        """Wait for metrics logged in the background (``synchronous=False``)."""
        pending, self._pending = self._pending, []
        for operation in pending:
            operation.wait()

    def finalize(self, status: Status) -> None:
        """Upload what ``log_model=True`` keeps, then mark the run FINISHED / FAILED / KILLED
        (also when an upload failed, so the run is not left RUNNING)."""
        if self._finalized:
            return
        self._finalized = True
        if self._client is None and not self._checkpoints.pending:
            return  # nothing was ever logged: no run to end
        try:
            self._checkpoints.finish(Status(status) is Status.SUCCESS)
            self.save()
        finally:
            client, run_id = self._run()
            client.set_terminated(run_id, status=RUN_STATUS[Status(status)])

    def state_dict(self) -> dict[str, Any]:
        self._run()
        return {"run_id": self._run_id, "experiment_id": self._experiment_id,
                "tracking_uri": self.tracking_uri, "step": self._last_step,
                "renamed": self._keys.renamed, "renamed_media": self._media.renamed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the run in ``state``; steps it already holds are not logged again.
        The ``tracking_uri`` option, when given, wins over the stored one (a moved server)."""
        if self._client is not None:
            raise RuntimeError("load_state_dict must come before anything is logged")
        self._run_id = state["run_id"]
        self.tracking_uri = self._own_uri or state["tracking_uri"]
        self._last_step = self._skip_through = state.get("step")
        self._keys = KeyCleaner(renamed=state.get("renamed"))  # the same names as before
        self._media = KeyCleaner(MEDIA_BAD, renamed=state.get("renamed_media"))
        self._resumed = True

    # -- helpers -----------------------------------------------------------------------------
    def _batch(self, client: MlflowClient, run_id: str, **records: Any) -> None:
        """One ``log_batch``: waited for, or (``synchronous``) as MLflow's setting says."""
        operation = client.log_batch(run_id, synchronous=self._sync, **records)
        if not self._sync:
            self._pending.append(operation)

    def _upload(self, path: str, dest: str) -> None:
        """Store the file or folder ``path`` as the run artifact ``dest``."""
        client, run_id = self._run()
        folder, base = posixpath.split(dest)
        source = Path(path)
        if source.is_dir():
            client.log_artifacts(run_id, str(source), artifact_path=dest)
        elif source.name == base:
            client.log_artifact(run_id, str(source), artifact_path=folder or None)
        else:  # MLflow keeps a file's own name: stage it under the wanted one
            with tempfile.TemporaryDirectory() as tmp:
                staged = Path(tmp, base)
                try:
                    os.link(source, staged)  # no copy of a large checkpoint where possible
                except OSError:
                    shutil.copy2(source, staged)
                client.log_artifact(run_id, str(staged), artifact_path=folder or None)


def _async_default() -> bool:
    """MLflow's own default for ``synchronous=None`` (``MLFLOW_ENABLE_ASYNC_LOGGING``)."""
    from mlflow.environment_variables import MLFLOW_ENABLE_ASYNC_LOGGING

    return bool(MLFLOW_ENABLE_ASYNC_LOGGING.get())
