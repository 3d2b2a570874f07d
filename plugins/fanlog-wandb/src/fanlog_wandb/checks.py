"""Options checked when the backend is built: W&B's rules for a project name and a run id
(wandb would only refuse them when the run starts, on the worker, fencing the backend;
copied from wandb 0.31's ``wandb_settings`` because importing wandb costs a second, and
tests/plugins/wandb checks them against ``wandb.Settings``), and Lightning's synonyms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

_MODES = ("online", "offline", "disabled", "shared")
_POLICIES = ("mutable", "immutable")

_PROJECT_CHARS = "/\\#?%:"
_RUN_ID_CHARS = ":;,#?/'"


def check_project(project: str | None) -> None:
    if project is None:
        return
    if not project:
        raise ValueError("project must not be empty (None: $WANDB_PROJECT or 'fanlog')")
    if len(project) > 128:
        raise ValueError(f"W&B project {project!r}: more than 128 characters")
    found = sorted({c for c in project if c in _PROJECT_CHARS})
    if found:
        raise ValueError(f"W&B project {project!r} contains {''.join(found)!r}; a project name "
                         f"cannot contain any of {_PROJECT_CHARS!r}")


def check_run_id(run_id: str | None) -> None:
    if run_id is None:
        return
    if not run_id.strip():
        raise ValueError(f"W&B run id {run_id!r} is empty or only whitespace")
    if run_id != run_id.strip():
        raise ValueError(f"W&B run id {run_id!r} starts or ends with whitespace")
    found = sorted({c for c in run_id if c in _RUN_ID_CHARS})
    if found:
        raise ValueError(f"W&B run id {run_id!r} contains {''.join(found)!r}; a run id cannot "
                         f"contain any of {_RUN_ID_CHARS!r}")


def lightning_synonyms(save_dir: str | Path | None, dir: str | Path | None, offline: bool,
                       kwargs: dict[str, Any]) -> tuple[str | Path | None, bool]:
    """``save_dir`` and ``offline`` from Lightning's synonyms ``dir`` and ``mode`` (a
    ``wandb.init`` option Lightning passes on); ``mode`` is taken out of ``kwargs``, or left
    there for the modes other than online/offline."""
    if dir is not None and save_dir is not None and str(dir) != str(save_dir):
        raise ValueError(f"dir={str(dir)!r} and save_dir={str(save_dir)!r} name the same "
                         f"folder (Lightning's synonyms); pass one")
    mode = kwargs.pop("mode", None)
    if mode is not None:
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        if offline and mode != "offline":
            raise ValueError(f"offline=True and mode={mode!r} contradict each other")
        offline = mode == "offline"
        if mode not in ("online", "offline"):
            kwargs["mode"] = mode
    return (save_dir if save_dir is not None else dir), offline


def check_policy(policy: Any) -> None:
    if policy not in _POLICIES:
        raise ValueError(f"add_file_policy must be one of {_POLICIES}, got {policy!r}")
