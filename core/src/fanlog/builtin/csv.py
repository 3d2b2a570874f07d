"""``csv``: ``metrics.csv`` and ``hparams.yaml`` under ``save_dir/name/version``.

The file is append-only: each ``log_metrics`` call becomes one row written with a single
``os.write``, so a process killed at any moment leaves only complete rows (a torn last line
from a power cut is cut off when the file is next opened). A new metric name adds a column
by rewriting the file once into a temporary copy that replaces it atomically: the cost is
per new column, never per row or flush.

Cells are quoted per RFC 4180 by the ``csv`` module, so any name (``acc,top1``, quotes, a
newline) reads back with ``csv.DictReader``; values are numbers and never need quotes, so
every row after the header is one line. ``hparams.yaml`` is written with PyYAML's
``safe_dump``, as Lightning's ``save_hparams_to_yaml`` writes it.
"""

from __future__ import annotations

import csv
import io
import os
import threading
from pathlib import Path
from typing import Any

from fanlog import validate
from fanlog.backend import add_prefix, check_prefix, claim_version
from fanlog.params import save_yaml, to_plain

_CLAIM = threading.Lock()  # module level: CSVLogger instances stay picklable


class CSVLogger:
    """Lightning's CSVLogger layout: ``save_dir/name/version_N/metrics.csv``.

    ``version`` may be an int (``version_<n>``), a string (used as the folder name) or
    None (the next free ``version_<n>``).
    ``prefix`` is joined before every metric name as ``prefix-name`` (the one prefix rule,
    :func:`fanlog.backend.add_prefix`).

    Args:
        save_dir: the folder runs go under.
        name: the experiment folder inside ``save_dir`` (no ``..``, not absolute).
        version: the run folder inside ``name`` (see above).
        prefix: joined before every metric name.
        flush_logs_every_n_steps: accepted for Lightning's CSVLogger; it changes nothing
            here, since every row is on disk as soon as it is logged.
    """

    def __init__(self, save_dir: str | Path = "fanlog_logs", name: str = "fanlog",
                 version: int | str | None = None, prefix: str = "",
                 flush_logs_every_n_steps: int = 100) -> None:
        if isinstance(version, int) and version < 0:
            raise ValueError(f"version must be >= 0, got {version}")
        if isinstance(flush_logs_every_n_steps, bool) or not isinstance(
                flush_logs_every_n_steps, int) or flush_logs_every_n_steps < 1:
            raise ValueError("flush_logs_every_n_steps must be a positive int, got "
                             f"{flush_logs_every_n_steps!r}")
        validate.folder("name", name)
        validate.folder("version", version)
        self.save_dir = Path(save_dir)
        self.name = name
        self._version = version
        self.prefix = check_prefix(prefix)
        self._fd: int | None = None
        self._columns: list[str] = []
        self._known: set[str] = set()  # the columns, for membership tests
        self._hparams: dict[str, Any] = {}
        self._last_step: int | None = None
        self._resume_step: int | None = None

    # -- where ---------------------------------------------------------------------------
    @property
    def version(self) -> int | str:
        """The version, choosing (and claiming) the next free one on first use."""
        if self._version is None:
            with _CLAIM:  # the training thread (.log_dir) and the worker may both ask
                if self._version is None:
                    self._version = claim_version(self.save_dir / self.name)
        return self._version

    @property
    def log_dir(self) -> Path:
        version = self.version
        folder = version if isinstance(version, str) else f"version_{version}"
        return self.save_dir / self.name / folder

    @property
    def metrics_file(self) -> Path:
        return self.log_dir / "metrics.csv"

    @property
    def experiment(self) -> Path:
        """The run folder (there is no richer native object for a CSV file)."""
        return self.log_dir

    # -- hooks ---------------------------------------------------------------------------
    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        if self._resume_step is not None and step <= self._resume_step:
            return  # already in the file from before the restart
        if self._fd is None:
            self._open()
        row = add_prefix(metrics, self.prefix)
        if row and list(row) == self._columns:  # the usual row: every column, in order
            line = f"{step},{','.join(map(repr, map(float, row.values())))}\n"
        else:
            new = [k for k in row if k not in self._known]
            if new:
                if validate.STEP in new:  # the fan-out refuses it at the call already
                    raise ValueError("a metric named 'step' would shadow the step column")
                self._add_columns(new)
            line = ",".join([str(step)] + [_cell(row[c]) if c in row else ""
                                           for c in self._columns]) + "\n"
        os.write(self._fd, line.encode())
        self._last_step = step if self._last_step is None else max(self._last_step, step)

    def log_hyperparams(self, params: dict[str, Any]) -> None:
        self._hparams.update(to_plain(params))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        save_yaml(self.log_dir / "hparams.yaml", self._hparams)

    def save(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def finalize(self, status: Any) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def state_dict(self) -> dict[str, Any]:
        return {"save_dir": str(self.save_dir), "name": self.name, "version": self.version,
                "step": self._last_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue in the same folder; rows written after the checkpoint's step are removed
        so that the resumed run writes each step exactly once."""
        self._version = state["version"]
        self._resume_step = state.get("step")
        self._last_step = self._resume_step
        if self.metrics_file.exists():
            self._open()
            if self._resume_step is not None:
                self._rewrite(keep=lambda step: step <= self._resume_step)
            else:
                self._rewrite(keep=lambda step: False)

    # -- the file ------------------------------------------------------------------------
    def _open(self) -> None:
        path = self.metrics_file
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size:
            _drop_torn_tail(path)
            with path.open(encoding="utf-8", newline="") as fh:
                header = next(csv.reader(fh), [])
            self._columns = header[1:]
            self._known = set(self._columns)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if os.fstat(self._fd).st_size == 0:
            os.write(self._fd, b"step\n")

    def _add_columns(self, new: list[str]) -> None:
        self._columns.extend(new)
        self._known.update(new)
        self._rewrite(keep=lambda step: True, pad=len(new))

    def _rewrite(self, keep: Any, pad: int = 0) -> None:
        """Copy the file with the current header and the rows ``keep`` accepts, then swap it
        in atomically (the old file stays whole until the rename)."""
        path = self.metrics_file
        tmp = path.with_suffix(".csv.tmp")
        with (path.open(encoding="utf-8", newline="") as src,
              tmp.open("w", encoding="utf-8", newline="") as dst):
            rows = csv.reader(src)
            next(rows, None)
            dst.write(_line(["step", *self._columns]))
            for row in rows:
                if keep(int(row[0])):
                    dst.write(_line(row + [""] * pad))
            dst.flush()
            os.fsync(dst.fileno())
        if self._fd is not None:
            os.close(self._fd)
        os.replace(tmp, path)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)


def _cell(value: float) -> str:
    return repr(float(value))  # shortest text that reads back to the same float


def _line(cells: list[str]) -> str:
    """One CSV record, quoted per RFC 4180 where a cell needs it (``,`` ``"`` ``\\r``
    ``\\n``), ended by ``\\n`` like the fast path's rows (the ``\\r\\n`` terminator is what
    makes the writer quote a lone ``\\r``)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(cells)
    return buf.getvalue()[:-2] + "\n"


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line that lacks its newline (left by a crash mid-write)."""
    with path.open("rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        chunk = min(size, 1 << 16)
        fh.seek(size - chunk)
        data = fh.read(chunk)
        cut = data.rfind(b"\n")
        fh.truncate(size - chunk + cut + 1 if cut >= 0 else 0)
