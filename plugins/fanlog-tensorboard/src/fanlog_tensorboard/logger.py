"""``tensorboard``: event files and ``hparams.yaml`` under ``save_dir/name/version[/sub_dir]``,
as Lightning writes them.

Nothing here imports tensorboard or torch at load time: the SummaryWriter is created on the
first hook that needs it, on the fan-out's worker thread (and so after any ``fork()`` that
happened before logging began: a writer inherited by a forked child loses its data).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fanlog import validate
from fanlog.backend import add_prefix, check_prefix, claim_version
from fanlog.media import to_hwc_uint8
from fanlog.params import flatten, save_yaml, to_plain

if TYPE_CHECKING:
    import numpy as np
    from torch.utils.tensorboard import SummaryWriter

log = logging.getLogger("fanlog.tensorboard")

_EVENT_FILE = re.compile(r"events\.out\.tfevents\.(\d+)\.")


class TensorBoardLogger:
    """Lightning's TensorBoardLogger options, writing with ``torch.utils.tensorboard``.

    ``version``: an int (folder ``version_<n>``), a string (the folder name) or None (the
    next free ``version_<n>``, claimed when the run starts). ``sub_dir`` adds a folder
    inside the version folder. ``prefix`` names metrics ``<prefix>-<name>``.
    ``default_hp_metric`` logs ``hp_metric = -1`` at step 0 with the hyperparameters.
    ``flush_secs``: how often the writer's own thread flushes to disk. ``log_graph``:
    whether ``log_graph`` calls record the model graph (off by default, as in Lightning).

    Scalars are stored as float32 (TensorBoard's ``simple_value``): a finite value beyond
    about 3.4e38 reads back as inf and one below about 1.4e-45 as 0.0.
    """

    def __init__(
        self,
        save_dir: str | Path = "fanlog_logs",
        name: str | None = "fanlog",
        version: int | str | None = None,
        sub_dir: str | Path | None = None,
        default_hp_metric: bool = True,
        prefix: str = "",
        flush_secs: float = 120.0,
        log_graph: bool = False,
    ) -> None:
        if isinstance(version, bool) or not isinstance(version, int | str | None):
            raise TypeError(f"version must be an int, a str or None, got {version!r}")
        if isinstance(version, int) and version < 0:
            raise ValueError(f"version must be >= 0, got {version}")
        if version == "":
            raise ValueError("version must not be an empty string (None picks the next free)")
        if isinstance(flush_secs, bool) or not isinstance(flush_secs, int | float):
            raise TypeError(f"flush_secs must be a number of seconds, got {flush_secs!r}")
        if not flush_secs > 0:
            raise ValueError(f"flush_secs must be > 0, got {flush_secs}")
        for option, value in (("default_hp_metric", default_hp_metric), ("log_graph", log_graph)):
            if not isinstance(value, bool):
                raise TypeError(f"{option} must be True or False, got {value!r}")
        for option, value in (("name", name), ("version", version), ("sub_dir", sub_dir)):
            validate.folder(option, value)
        self._save_dir = _expand(save_dir)
        self._name = name or ""
        self._version = version
        self._sub_dir = _expand(sub_dir) if sub_dir is not None else None
        self._default_hp_metric = default_hp_metric
        self._prefix = check_prefix(prefix)
        self._flush_secs = float(flush_secs)
        self._log_graph = log_graph

        self._lock = threading.RLock()
        self._writer: SummaryWriter | None = None
        self._writer_pid: int | None = None
        self._hparams: dict[str, bool | int | float | str] = {}
        self._hparams_yaml: dict[str, Any] = {}  # as logged (nested), for hparams.yaml
        self._hparams_pending = False  # values not yet written (consecutive calls merge)
        self._hparams_started = False  # a session start record exists in this run
        self._hp_metric_logged = False
        self._experiment_written = False
        self._metric_tags: dict[str, None] = {}  # ordered set of every scalar tag
        self._last_step: int | None = None
        self._resume_step: int | None = None
        self._purge_step: int | None = None
        self._warned_nonfinite: set[str] = set()

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (DDP spawn, checkpoints): the lock and the open writer stay behind; a
        copy opens its own writer when it first logs."""
        state = self.__dict__.copy()
        del state["_lock"]
        state["_writer"] = state["_writer_pid"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    # -- where (Lightning's properties) -----------------------------------------------------
    @property
    def save_dir(self) -> str:
        return self._save_dir

    @property
    def name(self) -> str:
        return self._name

    @property
    def sub_dir(self) -> str | None:
        return self._sub_dir

    @property
    def root_dir(self) -> str:
        """``save_dir/name`` (just ``save_dir`` when name is empty or None)."""
        return os.path.join(self._save_dir, self._name) if self._name else self._save_dir

    @property
    def version(self) -> int | str:
        """The version, choosing and claiming the next free ``version_<n>`` on first use."""
        if self._version is None:
            with self._lock:  # the training thread may ask while the worker starts the run
                if self._version is None:
                    self._version = claim_version(self.root_dir)
        return self._version

    @property
    def log_dir(self) -> str:
        """The folder the event files go to: ``root_dir/version[/sub_dir]``."""
        version = self.version
        folder = version if isinstance(version, str) else f"version_{version}"
        path = os.path.join(self.root_dir, folder)
        return os.path.join(path, self._sub_dir) if self._sub_dir else path

    @property
    def experiment(self) -> SummaryWriter:
        """The ``torch.utils.tensorboard.SummaryWriter`` (the run starts if it had not)."""
        return self._start()

    # -- hooks -------------------------------------------------------------------------------
    def log_hyperparams(self, params: dict[str, Any]) -> None:
        """Flattened (``a/b``) and kept plain for the HParams plugin. Consecutive calls merge
        into one record, written with the next data or at ``save``/``finalize``: TensorBoard
        shows only the first hparams record of a run. ``hparams.yaml`` (nested, as logged)
        is written into the log folder at once, as Lightning's ``save_hparams_to_yaml``
        writes it."""
        self._hparams_yaml.update(to_plain(params))
        os.makedirs(self.log_dir, exist_ok=True)
        save_yaml(os.path.join(self.log_dir, "hparams.yaml"), self._hparams_yaml)
        self._hparams.update(
            (key, _hparam_value(value)) for key, value in flatten(params).items()
        )
        self._hparams_pending = True
        if self._default_hp_metric and not self._hp_metric_logged:
            self._hp_metric_logged = True
            self._write_scalars({"hp_metric": -1.0}, 0)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """One event per call holding every metric (one write, not one per metric)."""
        if self._hparams_pending:
            self._write_hparams()
        self._write_scalars(metrics, step)

    def log_text(self, key: str, text: str, step: int | None) -> None:
        at = self._take(step)
        if at is not None:
            self._data_writer().add_text(key, text, at)

    def log_image(self, key: str, image: np.ndarray, step: int | None, dataformats: str) -> None:
        """Any layout fanlog accepts; a batch is written as one grid image."""
        at = self._take(step)
        if at is not None:
            from fanlog_tensorboard import summaries

            self._add_data(summaries.image(key, to_hwc_uint8(image, dataformats)), at)

    def log_histogram(self, key: str, values: np.ndarray, step: int | None, bins: int) -> None:
        """NaN and infinities are left out (TensorBoard histograms cannot hold them)."""
        at = self._take(step)
        if at is None:
            return
        import numpy as np

        values = np.asarray(values, dtype=np.float64).reshape(-1)
        finite = values[np.isfinite(values)]
        if finite.size < values.size and key not in self._warned_nonfinite:
            self._warned_nonfinite.add(key)
            log.warning("tensorboard: histogram %r: non-finite values are left out (warned "
                        "once per key)", key)
        if finite.size == 0:
            return
        self._data_writer().add_histogram(key, finite, at, bins=bins)

    def log_audio(self, key: str, audio: np.ndarray, step: int | None, sample_rate: int) -> None:
        """16-bit WAV, every channel kept."""
        at = self._take(step)
        if at is not None:
            from fanlog_tensorboard import summaries

            self._add_data(summaries.audio(key, audio, sample_rate), at)

    def log_figure(self, key: str, figure: Any, step: int | None) -> None:
        """Rendered to PNG with ``savefig`` (the figure keeps its canvas and stays open)."""
        at = self._take(step)
        if at is None:
            return
        import io

        from fanlog_tensorboard import summaries

        buf = io.BytesIO()
        figure.savefig(buf, format="png")
        self._add_data(summaries.png(key, buf.getvalue()), at)

    def log_graph(self, model: Any, example_input: Any) -> None:
        """Traced with ``example_input`` (or ``model.example_input_array``) when the
        ``log_graph`` option is on."""
        if not self._log_graph:
            return
        example = example_input
        if example is None:
            example = getattr(model, "example_input_array", None)
        if example is None:
            log.warning("tensorboard: no graph logged: pass example_input or set "
                        "model.example_input_array")
            return
        self._data_writer().add_graph(model, example)

    def log_artifact(self, path: str, name: str | None, metadata: dict[str, Any]) -> None:
        """TensorBoard stores no files: the path (and metadata) is noted as text under
        ``artifacts/<name>`` at the current step."""
        text = os.path.abspath(path)
        if metadata:
            text += "\n\n" + json.dumps(metadata, sort_keys=True, default=str)
        tag = f"artifacts/{name or os.path.basename(os.path.normpath(path))}"
        self._data_writer().add_text(tag, text, self._take(None))

    def save(self) -> None:
        if self._hparams_pending:
            self._write_hparams()
        if self._writer is not None:
            self._writer.flush()

    def finalize(self, status: Any) -> None:
        """Write the hparams table (with every metric logged) and the run's end status,
        flush and close. Idempotent; a hook after it opens a new event file."""
        if self._writer is None and not self._hparams_pending:
            return
        from fanlog_tensorboard import summaries

        if self._hparams_pending:
            self._write_hparams()
        if self._hparams_started and not self._experiment_written:
            self._experiment_written = True
            self._add(summaries.experiment(self._hparams, self._metric_tags), None)
            self._add(summaries.session_end(status), None)
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()  # flushes first; an unclosed writer loses its last events

    def state_dict(self) -> dict[str, Any]:
        """The version folder and the last step written (plus the metric names, for the
        hparams table of the resumed run)."""
        return {"version": self.version, "log_dir": self.log_dir, "step": self._last_step,
                "metric_tags": list(self._metric_tags)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Write into the same version folder. TensorBoard is told to drop what the earlier
        run wrote after ``state["step"]`` (``purge_step``), and steps up to it that arrive
        again are skipped, so no step is read twice."""
        if self._writer is not None:
            raise RuntimeError("load_state_dict must come before anything is logged")
        if "version" not in state:
            raise ValueError(f"not a tensorboard state (no 'version'): {state!r}")
        step = state.get("step")
        self._version = state["version"]
        self._resume_step = self._last_step = step
        self._purge_step = 0 if step is None else int(step) + 1
        self._metric_tags.update(dict.fromkeys(state.get("metric_tags", ())))

    # -- internals ---------------------------------------------------------------------------
    def _take(self, step: int | None) -> int | None:
        """The step to write at, or None when a resumed run already holds ``step``.
        No step means the current one (the latest step written, or 0)."""
        last = self._last_step
        if step is None:
            if last is None:
                self._last_step = last = 0
            return last
        if self._resume_step is not None and step <= self._resume_step:
            return None
        if last is None or step > last:
            self._last_step = step
        return step

    def _write_scalars(self, metrics: Mapping[str, float], step: int) -> None:
        tags = list(add_prefix(metrics, self._prefix))
        self._metric_tags.update(dict.fromkeys(tags))
        at = self._take(step)
        if at is None:
            return
        from fanlog_tensorboard import summaries

        self._add(summaries.scalars(tags, metrics.values()), at)

    def _write_hparams(self) -> None:
        from fanlog_tensorboard import summaries

        self._hparams_pending = False
        self._hparams_started = True
        self._add(summaries.session_start(self._hparams), None)

    def _data_writer(self) -> SummaryWriter:
        """The writer, with any pending hyperparameters written first."""
        if self._hparams_pending:
            self._write_hparams()
        return self._start()

    def _add_data(self, summary: Any, step: int) -> None:
        self._data_writer()._get_file_writer().add_summary(summary, step)

    def _add(self, summary: Any, step: int | None) -> None:
        self._start()._get_file_writer().add_summary(summary, step)

    def _start(self) -> SummaryWriter:
        writer = self._writer
        if writer is None or self._writer_pid != os.getpid():
            with self._lock:
                if self._writer is None:
                    self._writer = self._open()
                    self._writer_pid = os.getpid()
                elif self._writer_pid != os.getpid():
                    raise RuntimeError(
                        f"the tensorboard writer was created in process {self._writer_pid} and "
                        f"cannot be used from the forked process {os.getpid()}; log from the "
                        "parent, or create the logger in the child")
                writer = self._writer
        return writer

    def _open(self) -> SummaryWriter:
        from torch.utils.tensorboard import SummaryWriter

        log_dir = self.log_dir
        os.makedirs(log_dir, exist_ok=True)
        purge_step, self._purge_step = self._purge_step, None
        new_run = purge_step is None and not any(map(_EVENT_FILE.match, os.listdir(log_dir)))
        if purge_step is not None:
            _wait_to_sort_last(log_dir)
        writer = SummaryWriter(log_dir=log_dir, purge_step=purge_step,
                               flush_secs=self._flush_secs)
        if new_run or purge_step is not None:
            from fanlog_tensorboard import summaries

            writer._get_file_writer().add_event(summaries.session_log_start(purge_step or 0))
        return writer


def _expand(path: str | Path) -> str:
    return os.path.expanduser(os.path.expandvars(os.fspath(path)))


def _hparam_value(value: Any) -> bool | int | float | str:
    """What the HParams plugin can hold: bool, number or text (anything else as text)."""
    return value if isinstance(value, bool | int | float | str) else str(value)


def _wait_to_sort_last(log_dir: str) -> None:
    """Readers take event files in name order, and a name starts with the creation second:
    wait (at most a second) until a new file sorts after every existing one, or the purge
    marker it opens with would be read before the events it must drop."""
    seconds = [int(m.group(1)) for entry in os.listdir(log_dir) if (m := _EVENT_FILE.match(entry))]
    latest = max(seconds, default=-1)
    give_up = time.monotonic() + 1.1  # a file from a clock ahead of ours: do not wait on it
    while int(time.time()) <= latest and time.monotonic() < give_up:
        time.sleep(0.02)
