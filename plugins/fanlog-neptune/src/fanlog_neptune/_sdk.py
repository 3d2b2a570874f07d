"""Importing neptune and starting a run: only ever on the backend's worker thread, because
the import alone costs seconds."""

from __future__ import annotations

import sys
from typing import Any

#: Run options where this backend differs from neptune's defaults: it records what fanlog
#: sends and nothing else. Neptune would otherwise capture stdout/stderr (replacing
#: sys.stdout), sample hardware metrics on a thread, hook sys.excepthook, and upload the
#: script and git state. Any of them can be turned back on through keyword options.
QUIET_OPTIONS: dict[str, Any] = {
    "capture_stdout": False,
    "capture_stderr": False,
    "capture_hardware_metrics": False,
    "capture_traceback": False,
    "source_files": [],
    "git_ref": False,
}


def start_run(*, api_key: str | None, project: str | None, name: str | None,
              with_id: str | None, mode: str, options: dict[str, Any]) -> Any:
    """A new neptune Run, or the existing one ``with_id`` names (resume)."""
    import neptune

    kwargs = {**QUIET_OPTIONS, **options}
    hook = sys.excepthook
    run = neptune.init_run(with_id=with_id, project=project, api_token=api_key, name=name,
                           mode=mode, **kwargs)
    if not kwargs["capture_traceback"]:
        # Every run start hooks sys.excepthook, even with no traceback to capture: the
        # program's hook stays the program's (finalize marks a failed run itself).
        sys.excepthook = hook
    return run
