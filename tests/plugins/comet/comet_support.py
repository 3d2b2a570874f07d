"""Test support for the comet backend: the network blocked, a private $HOME, and a reader
for Comet offline archives that checks every record with comet_ml's own schemas (the
validators `comet upload` applies), so what the tests inspect is what Comet accepts.

comet_ml is imported only inside the reader, so conftest can use this without it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fanlog.testing.network import blocked_network  # noqa: F401  (re-exported)


@contextlib.contextmanager
def private_home(home: Path) -> Iterator[Path]:
    """$HOME is ``home`` (matplotlib's cache beside it); COMET_* variables are as they were
    afterwards."""
    home.mkdir(parents=True, exist_ok=True)
    saved = {k: v for k, v in os.environ.items() if k.startswith("COMET_")}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("MPLCONFIGDIR", str(home.parent / "mplconfig"))
        try:
            yield home
        finally:
            for key in [k for k in os.environ if k.startswith("COMET_")]:
                del os.environ[key]
            os.environ.update(saved)


@functools.cache
def validators() -> dict[str, Any]:
    """Message type -> validator of its payload, as comet_ml's OfflineSender pairs them."""
    from comet_ml import schemas

    return {
        "metric_msg": schemas.get_metric_msg_validator(),
        "parameter_msg": schemas.get_parameter_msg_validator(),
        "file_upload": schemas.get_upload_msg_validator(),
        "remote_file": schemas.get_remote_file_msg_validator(),
        "log_other": schemas.get_log_other_msg_validator(),
        "graph": schemas.get_graph_msg_validator(),
        "ws_msg": schemas.get_ws_msg_validator(),
    }


@dataclass
class Archive:
    experiment: dict[str, Any]
    messages: list[dict[str, Any]]
    files: dict[str, bytes]

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        return [m["payload"] for m in self.messages if m["type"] == kind]

    def metrics(self) -> dict[str, list[tuple[int, float]]]:
        """Each metric's (step, value) points in the order they were written."""
        series: dict[str, list[tuple[int, float]]] = {}
        for payload in self.payloads("metric_msg"):
            metric = payload["metric"]
            series.setdefault(metric["metricName"], []).append(
                (metric["step"], float(metric["metricValue"])))  # "NaN", "Infinity" parse
        return series

    def params(self) -> dict[str, Any]:
        """Manually logged parameters (list values come under "params", others "param")."""
        found = {}
        for payload in self.payloads("parameter_msg"):
            param = payload.get("param") or payload["params"]
            if param["source"] == "manual":
                found[param["paramName"]] = param["paramValue"]
        return found

    def others(self) -> dict[str, Any]:
        return {p["key"]: p["value"] for p in self.payloads("log_other")}

    def uploads(self, upload_type: str) -> list[tuple[dict[str, Any], bytes]]:
        """(payload, file content) of each upload of ``upload_type``, in order."""
        return [(p, self.files[p["file_path"]]) for p in self.payloads("file_upload")
                if p["upload_type"] == upload_type]

    def text(self) -> str:
        """Everything in the archive as text, to search for what must not be there."""
        parts = [json.dumps(self.experiment)] + [json.dumps(m) for m in self.messages]
        parts += [data.decode("latin-1") for data in self.files.values()]
        return "\n".join(parts)


def read_archive(path: Path) -> Archive:
    with zipfile.ZipFile(path) as zf:
        experiment = json.loads(zf.read("experiment.json"))
        lines = zf.read("messages.json").decode("utf-8").splitlines()
        files = {n: zf.read(n) for n in zf.namelist()
                 if n not in ("experiment.json", "messages.json")}
    from comet_ml import schemas

    schemas.get_experiment_file_validator().validate(experiment)
    messages = [json.loads(line) for line in lines if line.strip()]
    for message in messages:
        validators()[message["type"]].validate(message["payload"])  # unknown type: KeyError
    for payload in (m["payload"] for m in messages if m["type"] == "file_upload"):
        assert payload["file_path"] in files, f"upload without its file: {payload}"
    return Archive(experiment, messages, files)


def archives(directory: Path) -> list[Path]:
    return sorted(Path(directory).glob("*.zip"), key=lambda p: p.stat().st_mtime)


def only_archive(directory: Path) -> Archive:
    found = archives(directory)
    assert len(found) == 1, f"expected one archive in {directory}, found {found}"
    return read_archive(found[0])


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b
