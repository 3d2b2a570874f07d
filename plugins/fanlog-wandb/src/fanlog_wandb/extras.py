"""Lightning's WandbLogger methods beyond fanlog's hooks: tables, videos, artifacts in use,
and the ``name`` / ``version`` / ``save_dir`` properties.

These run on the caller's thread (the training thread), beside the backend's worker: each
``run.log`` is made under the backend's log lock, so two rows never interleave.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class LightningMethods:
    """Mixed into :class:`fanlog_wandb.WandbLogger` (which has ``_ensure_run`` and
    ``_log_media``)."""

    _project: str | None
    _save_dir: str | None
    _id: str | None
    _run: Any

    @property
    def name(self) -> str | None:
        """The project name (as in Lightning; the run's own name is ``experiment.name``)."""
        return self._project

    @property
    def version(self) -> str | None:
        """The run id: the started run's, else the one given (None: W&B picks it)."""
        return self._run.id if self._run is not None else self._id

    @property
    def save_dir(self) -> str | None:
        """The folder W&B writes ``wandb/`` into (None until given or started)."""
        return self._save_dir

    def log_table(self, key: str, columns: list[str] | None = None,
                  data: list[list[Any]] | None = None, dataframe: Any = None,
                  step: int | None = None) -> None:
        """Log a ``wandb.Table`` under ``key`` at ``step`` (None: no step).

        Args:
            key: the name in the run's history.
            columns: column names, with ``data`` (a list of rows).
            data: the rows.
            dataframe: a pandas DataFrame instead of ``columns`` and ``data``.
            step: fanlog's step (the step metric), or None.
        """
        import wandb

        self._log_media(  # type: ignore[attr-defined]
            key, wandb.Table(columns=columns, data=data, dataframe=dataframe), step)

    def log_video(self, key: str, videos: list[Any], step: int | None = None,
                  **kwargs: list[Any]) -> None:
        """Log a list of ``wandb.Video`` (file paths, or numpy arrays, which need wandb's
        ``media`` extra) under ``key``.

        Args:
            key: the name in the run's history.
            videos: file paths or arrays (time, channel, height, width).
            step: fanlog's step, or None.
            **kwargs: lists, one item per video, passed to ``wandb.Video`` (``caption``,
                ``fps``, ``format``).
        """
        import wandb

        self._log_media(  # type: ignore[attr-defined]
            key, [wandb.Video(video, **options)
                  for video, options in _per_item("videos", videos, kwargs)], step)

    def use_artifact(self, artifact: str, artifact_type: str | None = None) -> Any:
        """Mark ``artifact`` (``name:alias``) as used by this run; returns the wandb Artifact.

        Args:
            artifact: the artifact's path, e.g. ``"model-abc123:best"``.
            artifact_type: its type, to check it.
        """
        return self._ensure_run().use_artifact(  # type: ignore[attr-defined]
            artifact, type=artifact_type)

    @staticmethod
    def download_artifact(artifact: str, save_dir: str | Path | None = None,
                          artifact_type: str | None = None, use_artifact: bool = True) -> str:
        """Download ``artifact`` from the W&B server; returns the folder it is in.

        Args:
            artifact: the artifact's path, e.g. ``"entity/project/model-abc123:best"``.
            save_dir: where to put it (None: W&B's artifact folder).
            artifact_type: its type, to check it.
            use_artifact: also mark it used by the active run, when there is one.
        """
        import wandb

        if wandb.run is not None and use_artifact:
            found = wandb.run.use_artifact(artifact, type=artifact_type)
        else:
            found = wandb.Api().artifact(artifact, type=artifact_type)
        return found.download(root=None if save_dir is None else os.fspath(save_dir))


def _per_item(what: str, items: list[Any], kwargs: dict[str, list[Any]]) -> list[Any]:
    if not isinstance(items, list):
        raise TypeError(f"{what} must be a list, got {type(items).__name__}")
    for option, values in kwargs.items():
        if len(values) != len(items):
            raise ValueError(f"{option} has {len(values)} items for {len(items)} {what}")
    return [(item, {k: v[i] for k, v in kwargs.items()}) for i, item in enumerate(items)]
