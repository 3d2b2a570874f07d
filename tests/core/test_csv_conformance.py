"""The csv backend under the conformance kit, read back with the csv module and PyYAML (what
pandas or Lightning's load_hparams_from_yaml would read). The console backend is a display,
not a store: there is nothing to read back exactly, so it is tested in
test_builtin_console.py instead."""

from __future__ import annotations

import csv

import pytest
import yaml

from fanlog.builtin.csv import CSVLogger
from fanlog.params import flatten
from fanlog.testing import BackendConformance, Readback


def read_back(backend: CSVLogger) -> Readback:
    read = Readback(params={})
    if backend.metrics_file.exists():
        with open(backend.metrics_file, newline="") as fh:
            for row in csv.DictReader(fh):
                for name, cell in row.items():
                    if name != "step" and cell != "":
                        read.metrics.setdefault(name, []).append((int(row["step"]), float(cell)))
    hparams = backend.log_dir / "hparams.yaml"
    if hparams.exists():
        read.params = flatten(yaml.safe_load(hparams.read_text()) or {})
    return read


class TestCSVConformance(BackendConformance):
    name = "csv"

    @pytest.fixture
    def make_backend(self, tmp_path):
        return lambda **options: CSVLogger(save_dir=tmp_path / "logs", **options)

    @pytest.fixture
    def read_back(self):
        return read_back
