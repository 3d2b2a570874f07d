"""W&B's rules for a project name and a run id, checked when the backend is built: wandb
would only refuse them when the run starts, on the worker, fencing the backend. Copied from
wandb 0.31's ``wandb_settings`` because importing wandb costs a second (tests/plugins/wandb
checks them against ``wandb.Settings``)."""

from __future__ import annotations

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
