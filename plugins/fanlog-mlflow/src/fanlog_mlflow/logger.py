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

from fanlog.media import to_hwc_uint8
from fanlog.params import flatten
from fanlog.status import Status
from fanlog_mlflow.names import MAX_PARAM_VALUE, MAX_TAG_VALUE, KeyCleaner, step_file, truncated

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
    ``log_model``: False ignores checkpoints, True uploads at the end the checkpoints that
    still exist (the checkpoint callback's best and last), ``"all"`` uploads each checkpoint
    as it comes.
    ``artifact_location`` applies when the experiment is created.
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
    ) -> None:
        if not isinstance(experiment_name, str) or not experiment_name:
            raise ValueError(f"experiment_name must be a non-empty string, got {experiment_name!r}")
        if not (isinstance(log_model, bool) or log_model == "all"):
            raise ValueError(f"log_model must be False, True or 'all', got {log_model!r}")
        if tags is not None and not isinstance(tags, dict):
            raise TypeError(f"tags must be a dict, got {type(tags).__name__}")
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.tags = dict(tags or {})
        self.save_dir = Path(save_dir).absolute()
        self.log_model = log_model
        self.prefix = prefix
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
        self._keys = KeyCleaner()
        self._checkpoints: dict[str, str] = {}  # artifact path -> file, for log_model=True
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

        if self.tracking_uri == self._default_uri:
            self.save_dir.mkdir(parents=True, exist_ok=True)
        client = MlflowClient(tracking_uri=self.tracking_uri)
        tags = {self._keys(k): truncated("tag", k, v, MAX_TAG_VALUE) for k, v in self.tags.items()}
        if self._run_id is None:
            run = client.create_run(self._experiment(client), run_name=self.run_name, tags=tags)
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
        pre = f"{self.prefix}-" if self.prefix else ""  # Lightning's join
        batch = [Metric(self._keys(pre + k), v, now, step) for k, v in metrics.items()]
        client.log_batch(run_id, metrics=batch, synchronous=True)
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
        client.log_text(run_id, text, step_file("text", self._keys(key), step, "txt"))

    def log_image(self, key: str, image: np.ndarray, step: int | None, dataformats: str) -> None:
        """MLflow's image series (the UI's step slider): ``images/<key>+step+<n>+...png``."""
        client, run_id = self._run()
        client.log_image(run_id, to_hwc_uint8(image, dataformats), key=self._keys(key),
                         step=step, synchronous=True)

    def log_figure(self, key: str, figure: Any, step: int | None) -> None:
        client, run_id = self._run()
        client.log_figure(run_id, figure, step_file("figures", self._keys(key), step, "png"))

    def log_artifact(self, path: str, name: str | None, metadata: dict[str, Any]) -> None:
        """Files and folders go to the artifact root under ``name``; checkpoints
        (``metadata["kind"] == "checkpoint"``) go to ``checkpoints/`` as ``log_model`` says."""
        dest = name or Path(path).name
        if metadata.get("kind") != "checkpoint":
            self._upload(path, dest)
        elif self.log_model == "all":
            self._upload(path, f"checkpoints/{dest}")
        elif self.log_model:
            self._checkpoints[f"checkpoints/{dest}"] = path

    def finalize(self, status: Status) -> None:
        """Upload what ``log_model=True`` kept, then mark the run FINISHED / FAILED / KILLED
        (also when an upload failed, so the run is not left RUNNING)."""
        if self._finalized:
            return
        self._finalized = True
        if self._client is None and not self._checkpoints:
            return  # nothing was ever logged: no run to end
        try:
            for dest, path in self._checkpoints.items():
                if os.path.exists(path):  # the checkpoint callback deletes what it no longer keeps
                    self._upload(path, dest)
        finally:
            client, run_id = self._run()
            client.set_terminated(run_id, status=RUN_STATUS[Status(status)])

    def state_dict(self) -> dict[str, Any]:
        self._run()
        return {"run_id": self._run_id, "experiment_id": self._experiment_id,
                "tracking_uri": self.tracking_uri, "step": self._last_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the run in ``state``; steps it already holds are not logged again.
        The ``tracking_uri`` option, when given, wins over the stored one (a moved server)."""
        if self._client is not None:
            raise RuntimeError("load_state_dict must come before anything is logged")
        self._run_id = state["run_id"]
        self.tracking_uri = self._own_uri or state["tracking_uri"]
        self._last_step = self._skip_through = state.get("step")
        self._resumed = True

    # -- helpers -----------------------------------------------------------------------------
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
