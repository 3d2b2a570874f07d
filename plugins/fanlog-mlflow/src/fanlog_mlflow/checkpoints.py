"""Checkpoint folders as Lightning's MLFlowLogger writes them: ``checkpoints/<stem>/`` holds
the file, ``metadata.yaml`` (its score, original name and what the checkpoint callback said)
and ``aliases.txt`` (``['latest', 'best']`` or ``['latest']``)."""

from __future__ import annotations

import posixpath
import tempfile
import warnings
from pathlib import Path
from typing import Any

import yaml

_said_no_delete = False


def folder(name: str) -> str:
    """The run-relative folder of checkpoint ``name``."""
    return posixpath.join("checkpoints", posixpath.splitext(name)[0] or name)


def log_metadata(client: Any, run_id: str, where: str, name: str,
                 metadata: dict[str, Any]) -> None:
    """Write ``metadata.yaml`` and ``aliases.txt`` into the checkpoint folder ``where``."""
    described = {"score": metadata.get("score"), "original_filename": name,
                 "Checkpoint": {k: v for k, v in metadata.items() if k != "kept"}}
    aliases = ["latest", "best"] if metadata.get("best") else ["latest"]
    with tempfile.TemporaryDirectory(prefix="fanlog-mlflow-") as tmp:
        Path(tmp, "metadata.yaml").write_text(
            yaml.safe_dump(described, default_flow_style=False, allow_unicode=True),
            encoding="utf-8")
        Path(tmp, "aliases.txt").write_text(str(aliases), encoding="utf-8")
        client.log_artifacts(run_id, tmp, artifact_path=where)


def delete(client: Any, run_id: str, where: str) -> None:
    """Delete the checkpoint folder ``where`` (rotated out by the checkpoint callback) where
    the artifact store can; otherwise say once that it stays."""
    global _said_no_delete
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    repository = get_artifact_repository(client.get_run(run_id).info.artifact_uri)
    try:
        repository.delete_artifacts(where)
    except NotImplementedError:
        if not _said_no_delete:
            _said_no_delete = True
            warnings.warn(f"fanlog-mlflow: the artifact store of run {run_id} cannot delete; "
                          f"checkpoints rotated out by save_top_k stay ({where})",
                          RuntimeWarning, stacklevel=2)
