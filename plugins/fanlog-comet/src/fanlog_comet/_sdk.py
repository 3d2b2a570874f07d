"""Importing comet_ml and starting an experiment: only ever on the backend's worker thread,
because the import alone costs seconds."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

#: Read by comet_ml when it is imported; set only where the user has not set them.
#: Comet's framework auto-logging patches modules as they are imported, and torch always is
#: before this backend imports comet_ml: it could never work and would only warn.
_IMPORT_DEFAULTS = {"COMET_DISABLE_AUTO_LOGGING": "1"}
#: Offline nothing may leave the machine, and Comet sets up its error reporting (Sentry) at
#: import time.
_OFFLINE_IMPORT_DEFAULTS = {"COMET_ERROR_TRACKING_ENABLE": "false"}

#: Experiment options where this backend differs from Comet's defaults: it records what
#: fanlog sends and nothing else. Each default below would capture data behind fanlog's back
#: (argv as parameters, stdout, source, git, pip/conda listings, CPU/GPU/network metrics),
#: start helper threads, or reach the network even offline (cloud metadata and IP look-ups).
#: Any of them can be turned back on through the backend's keyword options.
QUIET_OPTIONS: dict[str, Any] = {
    "auto_output_logging": None,
    "auto_param_logging": False,
    "auto_metric_logging": False,
    "parse_args": False,
    "log_code": False,
    "log_graph": False,
    "log_git_metadata": False,
    "log_git_patch": False,
    "log_env_details": False,
    "display_summary_level": 0,
}


def import_comet(offline: bool) -> Any:
    """``comet_ml``, imported with the settings above unless it already was."""
    if "comet_ml" in sys.modules:
        return sys.modules["comet_ml"]
    defaults = dict(_IMPORT_DEFAULTS)
    if offline:
        defaults.update(_OFFLINE_IMPORT_DEFAULTS)
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    hook = sys.excepthook
    import comet_ml

    # comet_ml wraps sys.excepthook when imported, to mark the live experiment crashed; the
    # program's hook stays the program's, and finalize reports a failed run itself.
    sys.excepthook = hook
    return comet_ml


def start_experiment(
    *,
    api_key: str | None,
    workspace: str | None,
    project_name: str | None,
    experiment_key: str | None,
    offline: bool,
    offline_directory: Path,
    options: dict[str, Any],
    existing: bool = True,
) -> Any:
    """A new experiment, or the existing one ``experiment_key`` names (resume) unless
    ``existing`` is False (then it is the new experiment's key)."""
    comet_ml = import_comet(offline)
    kwargs = {**QUIET_OPTIONS, **options, "workspace": workspace, "project_name": project_name}
    if offline:
        # The API key is only needed by `comet upload`; given here Comet just warns.
        offline_directory.mkdir(parents=True, exist_ok=True)
        resume = experiment_key and existing
        cls = comet_ml.ExistingOfflineExperiment if resume else comet_ml.OfflineExperiment
        return cls(offline_directory=str(offline_directory), experiment_key=experiment_key,
                   **kwargs)
    if experiment_key and existing:
        return comet_ml.ExistingExperiment(api_key=api_key, experiment_key=experiment_key,
                                           **kwargs)
    return comet_ml.Experiment(api_key=api_key, experiment_key=experiment_key, **kwargs)
