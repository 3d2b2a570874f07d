"""Names and values under attack: each bad one fails at the call, naming the culprit, and the
odd-but-valid ones reach every backend intact (csv read back with the csv module)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from fanlog import FanOut
from fanlog.builtin.csv import CSVLogger
from fanlog.metrics import MetricsEngine
from fanlog.testing import RecordingLogger
from fanlog.trainer import Trainer
from tests.core.trainer.trainer_models import Regression, loader

#: valid names a user may well send in one run (sent together, none may fence a backend)
ODD_NAMES = [
    "acc,top1", "a\nb", "cr\rlf", "crlf\r\n", 'say "hi"', "'single'", "[bracket]", "{brace}",
    "(paren)", "<angle>", "semi;colon", "tab\tname", " leading space", "trailing space ",
    "slash/in/name", "back\\slash", "dots.in.name", "ünïcödé", "损失", "精度", "emoji 🚀",
    "acc@1", "acc#1", "a:b", "=formula", "#comment", "x" * 10_000, "step_like_step",
]


def make(*backends, **kw):
    return FanOut(list(backends), summary=False, **kw)


def test_odd_names_in_one_run_fence_nothing_and_csv_reads_back(tmp_path):
    assert len(ODD_NAMES) == 28
    recorder = RecordingLogger()
    run = make(recorder, {"name": "csv", "save_dir": str(tmp_path), "version": 0},
               {"name": "console", "stream": "stderr"})
    for step, name in enumerate(ODD_NAMES):
        run.log_metrics({name: step + 0.5, "loss": 1.0 / (step + 1)}, step=step)
    run.log_metrics(dict.fromkeys(ODD_NAMES, 1e-05), step=len(ODD_NAMES))
    summary = run.finalize()
    assert all(s.state == "ok" and s.lost == 0 for s in summary.backends.values()), (
        summary.format())
    with open(tmp_path / "fanlog" / "version_0" / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(ODD_NAMES) + 1
    assert list(rows[0]) == ["step", ODD_NAMES[0], "loss", *ODD_NAMES[1:]]
    for step, name in enumerate(ODD_NAMES):
        assert rows[step]["step"] == str(step) and float(rows[step][name]) == step + 0.5
        assert float(rows[-1][name]) == 1e-05


@pytest.mark.parametrize(("name", "error", "match"), [
    (123, TypeError, "123"), (None, TypeError, "None"), ("", ValueError, "non-empty"),
    ("a\x00b", ValueError, "NUL"), ("half\ud800", ValueError, "surrogate"),
    ("step", ValueError, "'step' is reserved"),
])
def test_bad_metric_names_fail_at_the_call_named(name, error, match):
    recorder = RecordingLogger()
    run = make(recorder)
    with pytest.raises(error, match=match):
        run.log_metrics({"ok": 1.0, name: 1.0}, step=0)
    summary = run.finalize()
    assert recorder.metrics == []  # nothing half-sent
    assert next(iter(summary.backends.values())).state == "ok"


@pytest.mark.parametrize("name", ["", "a\x00b", 7])
def test_bad_media_keys_fail_at_the_call(name):
    run = make(RecordingLogger())
    with pytest.raises((TypeError, ValueError), match=r"non-empty|NUL"):
        run.log_text(name, "text")
    run.finalize()


BAD_VALUES = [
    (1 + 2j, TypeError, "complex"),
    (np.complex128(1 + 2j), TypeError, "complex"),
    (np.complex64(1 + 2j), TypeError, "complex"),
    (torch.tensor(1 + 2j), TypeError, "complex"),
    (torch.tensor(1.0, device="meta"), TypeError, "meta device"),
    (10**400, OverflowError, "too large"),
    ("bad", TypeError, "not text"),
    (np.ones(3), TypeError, r"shape \(3,\)"),
]


@pytest.mark.parametrize(("value", "error", "match"), BAD_VALUES)
def test_bad_values_fail_at_fanout_log_metrics_naming_the_metric(value, error, match):
    recorder = RecordingLogger()
    run = make(recorder)
    with pytest.raises(error, match=match) as raised:
        run.log_metrics({"ok": 1.0, "culprit": value}, step=0)
    assert "'culprit'" in str(raised.value)
    run.finalize()
    assert recorder.metrics == []


@pytest.mark.parametrize(("value", "error", "match"), BAD_VALUES)
def test_bad_values_fail_at_self_log_naming_the_metric(value, error, match):
    engine = MetricsEngine()
    engine.enter("train", "training_step")
    engine.begin_batch(None)
    with pytest.raises(error, match=match) as raised:
        engine.log("culprit", value)
    assert "self.log('culprit')" in str(raised.value)


@pytest.mark.parametrize("value", [np.array([2.0]), np.array([[2.0]]), np.float32(2.0),
                                   np.int64(2), torch.tensor([2.0]), 2])
def test_one_element_values_are_accepted_everywhere(value):
    engine = MetricsEngine()
    engine.enter("train", "training_step")
    engine.begin_batch(None)
    engine.log("m", value)
    assert engine.collect_step() == {"m": 2.0}
    recorder = RecordingLogger()
    run = make(recorder)
    run.log_metrics({"m": value}, step=0)
    run.finalize()
    assert recorder.metrics == [(0, {"m": 2.0})]


class LogsBadNote(Regression):
    def training_step(self, batch, batch_idx):
        self.trainer.log_metrics({"note": "bad"})
        return super().training_step(batch, batch_idx)


def test_trainer_log_metrics_checks_at_the_call(tmp_path):
    trainer = Trainer(default_root_dir=str(tmp_path / "root"), enable_progress_bar=False,
                      max_epochs=1, log_every_n_steps=1, loggers=[RecordingLogger()],
                      logger_options={"summary": False})
    with pytest.raises(TypeError, match="metric 'note' must be a number") as raised:
        trainer.fit(LogsBadNote(), loader())
    # raised inside training_step, at the call, not when the row went out
    assert any(frame.name == "training_step" for frame in raised.traceback)


@pytest.mark.parametrize(("option", "value", "match"), [
    ("name", "../../escape", r"'\.\.'"), ("version", "../escape", r"'\.\.'"),
    ("name", "/tmp/elsewhere", "absolute"), ("name", "a\x00b", "NUL"),
    ("version", "v\x00", "NUL"), ("version", "/abs/v", "absolute"),
])
def test_csv_run_folders_stay_inside_save_dir(tmp_path, option, value, match):
    with pytest.raises(ValueError, match=match):
        CSVLogger(save_dir=tmp_path / "logs", **{option: value})
    with pytest.raises(ValueError, match=match):  # by name: at construction, not later
        FanOut([{"logger": "csv", "save_dir": str(tmp_path / "logs"), option: value}],
               summary=False)
    assert not (tmp_path / "logs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # the test's cwd, empty
    assert list((tmp_path / "work").iterdir()) == []


def test_nested_relative_names_are_still_allowed(tmp_path):
    backend = CSVLogger(save_dir=tmp_path, name="group/exp", version="a.b")
    backend.log_metrics({"x": 1.0}, 0)
    backend.finalize("success")
    assert backend.metrics_file == tmp_path / "group" / "exp" / "a.b" / "metrics.csv"
