"""The highest metric step a resumed Comet experiment already holds.

A fit that crashed after its last checkpoint left steps past the checkpoint's step in the
experiment, and the resumed fit logs them again. Online, Comet's REST API has each
metric's summary (the steps of its latest, highest and lowest values). Offline, comet_ml
knows nothing of what the experiment's earlier starts wrote, so their archives in the
offline directory (``<key>.zip``, ``<key>-<suffix>.zip``: what ``comet upload`` sends) are
read.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

_SUMMARY_STEPS = ("stepCurrent", "stepMax", "stepMin")


def server_step(experiment: Any) -> int | None:
    """The highest step in the server's metric summaries of ``experiment`` (online)."""
    try:
        found = experiment.rest_api_client.get_experiment_metrics_summaries(
            experiment.get_key())
    except Exception as exc:  # comet_ml's network errors have no common base class
        warnings.warn(f"fanlog comet: cannot read the steps the experiment holds ({exc!r}); "
                      f"steps past the checkpoint may be stored twice", RuntimeWarning,
                      stacklevel=2)
        return None
    steps = [_step(summary.get(field)) for summary in (found or {}).get("values", [])
             for field in _SUMMARY_STEPS]
    return max((s for s in steps if s is not None), default=None)


def archived_step(directory: Path, key: str) -> int | None:
    """The highest metric step in the offline archives of experiment ``key`` in
    ``directory``."""
    archives = [p for p in Path(directory).glob(f"{key}*.zip")
                if p.name == f"{key}.zip" or p.name.startswith(f"{key}-")]
    steps = [step for path in sorted(archives) for step in _archive_steps(path)]
    return max(steps, default=None)


def _archive_steps(path: Path) -> list[int]:
    steps: list[int] = []
    try:
        with zipfile.ZipFile(path) as archive:
            if "messages.json" not in archive.namelist():
                return steps  # created empty when its experiment started: nothing stored yet
            with archive.open("messages.json") as lines:
                for line in lines:
                    if b'"metric_msg"' not in line:
                        continue
                    message = json.loads(line)
                    if message.get("type") == "metric_msg":
                        step = _step(message["payload"]["metric"].get("step"))
                        if step is not None:
                            steps.append(step)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        warnings.warn(f"fanlog comet: cannot read {path} ({exc!r}); steps it holds past the "
                      f"checkpoint may be stored twice", RuntimeWarning, stacklevel=2)
    return steps


def _step(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
