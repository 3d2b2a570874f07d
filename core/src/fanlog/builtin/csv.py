"""``csv``: ``metrics.csv`` and ``hparams.yaml`` under ``save_dir/name/version``.

The file is append-only: each ``log_metrics`` call becomes one row written with a single
``os.write``, so a process killed at any moment leaves only complete rows (a torn last line
from a power cut is cut off when the file is next opened). A new metric name adds a column
by rewriting the file once into a temporary copy that replaces it atomically: the cost is
per new column, never per row or flush.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from pathlib import Path
from typing import Any

from fanlog.backend import add_prefix, check_prefix
from fanlog.params import to_plain

_VERSION = re.compile(r"version_(\d+)$")
_CLAIM = threading.Lock()  # module level: CSVLogger instances stay picklable


class CSVLogger:
    """Lightning's CSVLogger layout: ``save_dir/name/version_N/metrics.csv``.

    ``version`` may be an int (``version_<n>``), a string (used as the folder name) or
    None (the next free ``version_<n>``).
    ``prefix`` is joined before every metric name as ``prefix-name`` (the one prefix rule,
    :func:`fanlog.backend.add_prefix`).
    """

    def __init__(self, save_dir: str | Path = "fanlog_logs", name: str = "fanlog",
                 version: int | str | None = None, prefix: str = "") -> None:
        if isinstance(version, int) and version < 0:
            raise ValueError(f"version must be >= 0, got {version}")
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
                    self._version = self._claim_next_version()
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

    def _claim_next_version(self) -> int:
        root = self.save_dir / self.name
        root.mkdir(parents=True, exist_ok=True)
        taken = [int(m.group(1)) for p in root.iterdir() if (m := _VERSION.match(p.name))]
        n = max(taken, default=-1) + 1
        while True:
            try:
                (root / f"version_{n}").mkdir()
                return n
            except FileExistsError:  # another run claimed it first
                n += 1

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
                self._add_columns(new)
            line = ",".join([str(step)] + [_cell(row[c]) if c in row else ""
                                           for c in self._columns]) + "\n"
        os.write(self._fd, line.encode())
        self._last_step = step if self._last_step is None else max(self._last_step, step)

    def log_hyperparams(self, params: dict[str, Any]) -> None:
        self._hparams.update(to_plain(params))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.log_dir / "hparams.yaml", _yaml(self._hparams))

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
            with path.open(encoding="utf-8") as fh:
                header = fh.readline().rstrip("\n")
            self._columns = header.split(",")[1:] if header else []
            self._known = set(self._columns)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if os.fstat(self._fd).st_size == 0:
            os.write(self._fd, b"step\n")

    def _add_columns(self, new: list[str]) -> None:
        self._columns.extend(new)
        self._known.update(new)
        pad = "," * len(new)
        self._rewrite(keep=lambda step: True, pad=pad)

    def _rewrite(self, keep: Any, pad: str = "") -> None:
        """Copy the file with the current header and the rows ``keep`` accepts, then swap it
        in atomically (the old file stays whole until the rename)."""
        path = self.metrics_file
        tmp = path.with_suffix(".csv.tmp")
        with path.open(encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as dst:
            src.readline()
            dst.write(",".join(["step", *self._columns]) + "\n")
            for line in src:
                if keep(int(line.split(",", 1)[0])):
                    dst.write(line.rstrip("\n") + pad + "\n")
            dst.flush()
            os.fsync(dst.fileno())
        if self._fd is not None:
            os.close(self._fd)
        os.replace(tmp, path)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)


def _cell(value: float) -> str:
    return repr(float(value))  # shortest text that reads back to the same float


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


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML for plain values (strings JSON-quoted: valid YAML scalars)."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}\n" if indent == 0 else " {}\n"
        out = "" if indent == 0 else "\n"
        for key, item in value.items():
            out += f"{pad}{_key(key)}:" + (
                _yaml(item, indent + 1) if isinstance(item, dict | list) and item
                else " " + _scalar(item) + "\n")
        return out
    if isinstance(value, list):
        out = "\n"
        for item in value:
            out += f"{pad}-" + (_yaml(item, indent + 1) if isinstance(item, dict | list) and item
                                else " " + _scalar(item) + "\n")
        return out
    return _scalar(value) + "\n"


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _key(key: Any) -> str:
    text = str(key)
    if _PLAIN_KEY.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return json.dumps(str(value))
