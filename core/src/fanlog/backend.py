"""The helpers every backend shares: one prefix rule, one checkpoint-upload policy and one
way to claim a ``version_<n>`` folder.

Each first-party backend (csv, tensorboard, wandb, mlflow, comet, neptune) and the plugin
template use these, so an option means the same thing whichever backend it is given to.
Nothing here imports an SDK.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

#: What Lightning's loggers put between a prefix and a name (``LOGGER_JOIN_CHAR``).
PREFIX_SEPARATOR = "-"

V = TypeVar("V")
_VERSION = re.compile(r"version_(\d+)$")
LogModel = bool | Literal["all"]


def next_version(root: str | os.PathLike[str]) -> int:
    """The number after the highest ``version_<n>`` folder under ``root`` (0 if none).

    Args:
        root: the experiment folder (``save_dir/name``); it need not exist.
    """
    names = os.listdir(root) if os.path.isdir(root) else []
    return max((int(m.group(1)) for n in names if (m := _VERSION.match(n))), default=-1) + 1


def claim_version(root: str | os.PathLike[str]) -> int:
    """The next free ``version_<n>`` under ``root``, created at once (``mkdir`` either makes
    it or fails), so that two runs starting together never take the same one.

    Args:
        root: the experiment folder (``save_dir/name``); made if missing.
    """
    os.makedirs(root, exist_ok=True)
    n = next_version(root)
    while True:
        try:
            os.mkdir(os.path.join(root, f"version_{n}"))
            return n
        except FileExistsError:  # another run claimed it first
            n += 1


def check_prefix(prefix: Any) -> str:
    """``prefix`` if it is a string (``""``: no prefix); a ``TypeError`` otherwise."""
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string, got {prefix!r}")
    return prefix


def prefixed(name: str, prefix: str, separator: str = PREFIX_SEPARATOR) -> str:
    """``prefix<separator>name``, or ``name`` when there is no prefix (Lightning's
    ``_add_prefix``)."""
    return f"{prefix}{separator}{name}" if prefix else name


def add_prefix(metrics: Mapping[str, V], prefix: str,
               separator: str = PREFIX_SEPARATOR) -> Mapping[str, V]:
    """Every key of ``metrics`` through :func:`prefixed`; ``metrics`` itself (no copy)
    when there is no prefix."""
    if not prefix:
        return metrics
    return {f"{prefix}{separator}{name}": value for name, value in metrics.items()}


def check_log_model(value: Any) -> LogModel:
    """``log_model`` if it is ``False``, ``True`` or ``"all"``; a ``ValueError`` otherwise."""
    if isinstance(value, bool) or value == "all":
        return value
    raise ValueError(f"log_model must be False, True or 'all', got {value!r}")


class CheckpointUploads:
    """The one ``log_model`` policy, for the checkpoints ``ModelCheckpoint`` hands over.

    ``log_model=False``: none is uploaded. ``True``: at a successful end, the checkpoints the
    callback still keeps (its top-k and ``last``) are uploaded. ``"all"``: each one when it
    is saved, and a remote copy whose file the callback deleted (rotated out by
    ``save_top_k``) is deleted through ``delete`` where the backend can delete.
    ``mark_best(handle, metadata)`` is told the best stored checkpoint after uploads.

    The backend supplies ``upload(path, name, metadata) -> handle`` (``name``: the one given
    to ``log_artifact``, else the file's), ``delete(handle)`` (optional)
    and ``mark_best``. The checkpoint metadata (see ``fanlog.callbacks.ModelCheckpoint``) has
    ``best`` (this file is the best so far), ``best_path`` and ``best_score``, ``kept`` (the
    files its callback keeps now) and ``callback`` (which callback saved it).
    """

    def __init__(self, log_model: Any, upload: Callable[[str, str, dict[str, Any]], Any],
                 delete: Callable[[Any], None] | None = None,
                 mark_best: Callable[[Any, dict[str, Any]], None] | None = None) -> None:
        self.log_model = check_log_model(log_model)
        self._upload, self._delete, self._mark_best = upload, delete, mark_best
        self._pending: dict[str, tuple[str, dict[str, Any]]] = {}  # path -> name, metadata
        self._stored: dict[str, tuple[Any, dict[str, Any]]] = {}  # path -> handle, metadata

    def saved(self, path: str, name: str | None, metadata: dict[str, Any]) -> None:
        """The checkpoint callback wrote ``path`` (``log_artifact(path, name, metadata)``)."""
        if not self.log_model:
            return
        name = name or os.path.basename(path)
        if self.log_model == "all":
            self._put(path, name, metadata)
            self._prune(metadata)
            self._best(metadata)
        else:
            self._pending.pop(path, None)  # keep the order in which they were saved
            self._pending[path] = name, metadata

    def finish(self, success: bool) -> None:
        """The run ends: with ``log_model=True`` and ``success``, upload what is kept."""
        pending, self._pending = self._pending, {}
        if not success or not pending:
            return
        last = list(pending.values())[-1][1]
        for path, (name, metadata) in pending.items():
            if os.path.exists(path) and _kept(path, metadata, last):
                best = path == last["best_path"] if "best_path" in last else metadata.get("best")
                self._put(path, name, {**metadata, "best": bool(best)})
        self._best(last)

    @property
    def pending(self) -> bool:
        """Whether checkpoints wait for the end (``log_model=True``)."""
        return bool(self._pending)

    @property
    def stored(self) -> dict[str, Any]:
        """Local path -> what ``upload`` returned, for the copies still stored."""
        return {path: handle for path, (handle, _) in self._stored.items()}

    def _put(self, path: str, name: str, metadata: dict[str, Any]) -> None:
        old = self._stored.pop(path, None)
        handle = self._upload(path, name, metadata)
        if old is not None and self._delete is not None and old[0] != handle:
            self._delete(old[0])  # a newer file under the same name (``last.ckpt``)
        self._stored[path] = (handle, metadata)

    def _prune(self, metadata: dict[str, Any]) -> None:
        if self._delete is None or "kept" not in metadata:
            return
        for path, (handle, old) in list(self._stored.items()):
            if old.get("callback") == metadata.get("callback") and \
                    not _kept(path, old, metadata):
                self._delete(handle)
                del self._stored[path]

    def _best(self, metadata: dict[str, Any]) -> None:
        best = metadata.get("best_path")
        if self._mark_best is not None and best in self._stored:
            self._mark_best(*self._stored[best])


def _kept(path: str, own: dict[str, Any], latest: dict[str, Any]) -> bool:
    """Whether ``path`` (saved with ``own`` metadata) is still kept, as the callback's most
    recent metadata ``latest`` says; checkpoints of other callbacks are left alone."""
    if own.get("callback") != latest.get("callback") or "kept" not in latest:
        return True
    return path in latest["kept"]
