"""Sending the framework's checkpoints to the backends that store artifacts.

Lightning deletes the checkpoint that top-k supersedes right after saving the next one, and
the Hugging Face Trainer rotates its checkpoint folders; a backend whose queue is behind
would then find the file gone. So each checkpoint goes out as a hard link beside it (the
file's data stays until the link goes, at no copying cost), removed once the framework has
dropped the original and every backend that takes artifacts has handled the call, or at
the run's end, after the backends' own ``finalize`` (which may upload the checkpoints that
remain). Where hard links are not possible the original path is sent.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanlog.fanout import FanOut, Outlet

_FOLDER = ".fanlog-staged"
_count = itertools.count()


@dataclass
class _Staged:
    link: Path
    original: Path
    identity: tuple[int, int]  # (st_dev, st_ino) of the original when it was sent
    positions: dict[str, tuple[Outlet, int]]  # per backend: how many calls it must handle


class CheckpointSender:
    """Hands checkpoints to the fan-out and removes their links when no longer needed."""

    def __init__(self) -> None:
        self._staged: list[_Staged] = []

    def send(self, fan: FanOut, path: str | os.PathLike[str], metadata: dict[str, Any]) -> None:
        """Queue ``log_artifact`` of the file or folder ``path`` for the backends that take
        artifacts (none: nothing is linked or sent)."""
        takers = {n: o for n, o in fan.outlets.items()
                  if "log_artifact" in o.hooks and not o.fenced}
        if not takers:
            return
        original = Path(path)
        link = _link(original)
        positions = {n: (o, o.stats.received + 1) for n, o in takers.items()}
        fan.log_artifact(link or original, name=original.name, metadata=metadata,
                         warn_unsupported=False)
        if link is not None:
            stat = original.stat()
            self._staged.append(_Staged(link, original, (stat.st_dev, stat.st_ino), positions))
        self.release()

    def release(self, everything: bool = False) -> None:
        """Remove the links no backend still needs (``everything``: all of them)."""
        keep = []
        for staged in self._staged:
            if everything or (_dropped(staged) and _handled(staged)):
                _remove(staged.link)
            else:
                keep.append(staged)
        self._staged = keep


def _link(original: Path) -> Path | None:
    """A hard link of the file (or a folder of hard links) in ``.fanlog-staged`` beside it."""
    target = original.parent / _FOLDER / f"{next(_count)}-{os.getpid()}-{original.name}"
    try:
        target.parent.mkdir(exist_ok=True)
        if original.is_dir():
            shutil.copytree(original, target, copy_function=os.link)
        else:
            os.link(original, target)
    except OSError:
        _remove(target)
        return None
    return target


def _dropped(staged: _Staged) -> bool:
    """The framework deleted (or replaced) the original."""
    try:
        stat = staged.original.stat()
    except OSError:
        return True
    return (stat.st_dev, stat.st_ino) != staged.identity


def _handled(staged: _Staged) -> bool:
    """Every backend that took the call has handled it (a fenced one never will)."""
    for outlet, position in staged.positions.values():
        s = outlet.stats
        if not outlet.fenced and s.delivered + s.errors + s.dropped < position:
            return False
    return True


def _remove(path: Path) -> None:
    """Remove a link (file or folder), and ``.fanlog-staged`` once it is empty."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    if path.parent.name == _FOLDER:
        with contextlib.suppress(OSError):  # other links are still there
            path.parent.rmdir()
