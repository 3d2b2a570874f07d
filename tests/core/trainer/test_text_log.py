"""The text log: MMEngine-style lines, windowed statistics, run.log, the console backend."""

from __future__ import annotations

import re

import pytest
import torch

from fanlog.logprocessor import LogProcessor
from fanlog.metrics import History
from tests.core.trainer.trainer_models import Regression, loader

STAMP = r"\d\d/\d\d \d\d:\d\d:\d\d - fanlog - INFO - "
ITERATION = re.compile(
    r"Epoch\(train\) \[(\d+)\]\[ *(\d+)/(\d+)\]  lr: \d\.\d{4}e[-+]\d\d  eta: \d+:\d\d:\d\d  "
    r"time: \d+\.\d{4}  data_time: \d+\.\d{4}  (.*)$")


class Counting(Regression):
    """Logs the batch index, so windowed statistics have known values."""

    def training_step(self, batch, batch_idx):
        self.log("idx", float(batch_idx))
        return super().training_step(batch, batch_idx)


def fields(line):
    return dict(part.split(": ") for part in line.split("  ")[1:])


def test_console_prints_iteration_lines(make_trainer, capsys):
    processor = LogProcessor(window_size=2, custom_cfg=[
        {"data_src": "idx", "method_name": "max", "window_size": "epoch", "log_name": "idx_max"},
        {"data_src": "loss", "method_name": "current"}])
    trainer = make_trainer(loggers=["console"], log_every_n_steps=4, max_epochs=2,
                           log_processor=processor)
    trainer.fit(Counting(), loader(40), loader(8))  # 10 batches an epoch
    out = capsys.readouterr().out
    lines = [re.sub(STAMP, "", line) for line in out.splitlines()]
    iterations = [m.groups() for line in lines if (m := ITERATION.match(line))]
    # every 4 iterations of each epoch; not the 2 left at its end (MMEngine's ignore_last)
    assert [(e, i, n) for e, i, n, _ in iterations] == [
        ("1", "4", "10"), ("1", "8", "10"), ("2", "4", "10"), ("2", "8", "10")]
    first = fields("x  " + iterations[0][3])
    assert first["idx"] == "3.0000"  # not a loss: the current value (MMEngine)
    assert first["idx_max"] == "3.0000"  # the epoch's max so far
    assert float(first["loss"]) > 0
    third = fields("x  " + iterations[2][3])
    assert third["idx_max"] == "3.0000"  # epoch statistics restart each epoch (not 9)
    assert any(line.startswith("Epoch(val) [1][2/2]    val_loss: ") for line in lines)
    assert any(line.startswith("Epoch(train) [2][10/10]  loss_epoch: ") for line in lines)
    assert not any(line.startswith("step ") for line in lines)  # no duplicate metric lines
    assert lines[-1] == "run ended: success"


def test_iteration_mode_and_run_log(make_trainer, tmp_path):
    trainer = make_trainer(log_every_n_steps=5, max_steps=10, max_epochs=None,
                           log_processor=LogProcessor(by_epoch=False), log_level="DEBUG")
    trainer.fit(Regression(), loader(32))
    text = (tmp_path / "root" / "run.log").read_text()
    assert re.search(r"INFO - Iter\(train\) \[ 5/10\]  lr: 5\.0000e-02  eta: ", text)
    assert re.search(r"INFO - Iter\(train\) \[10/10\]", text)
    assert re.search(r"DEBUG - rank 0/1 on cpu: fit", text)
    assert not (tmp_path / "root" / "run_rank1.log").exists()


def test_info_level_keeps_debug_out(make_trainer, tmp_path):
    make_trainer().fit(Regression(), loader(8))
    text = (tmp_path / "root" / "run.log").read_text()
    assert "Epoch(train) [1][2/2]" in text and "DEBUG" not in text


def test_statistics_replace_or_add_fields():
    history = History(maxlen=5, totals=True)
    for v in (1.0, 5.0, 3.0):
        history.update(v)
    processor = LogProcessor(window_size=2, custom_cfg=[
        {"data_src": "loss", "method_name": "min", "window_size": "global"},
        {"data_src": "loss", "method_name": "max", "window_size": 3, "log_name": "loss_max"}])
    assert processor.statistics({"loss": history, "acc": history}) == {
        "acc": 3.0, "loss": 1.0, "loss_max": 5.0}  # acc is no loss: its current value
    with pytest.raises(ValueError, match="method_name"):
        LogProcessor(custom_cfg=[{"data_src": "loss", "method_name": "median"}])


def test_small_and_large_numbers_stay_readable():
    processor = LogProcessor(style="readable")
    line = processor.epoch_line("val", {"a": 1.5e-7, "b": 0.25, "c": float("nan"),
                                        "d": 3.0e8}, epoch=1, batches=4)
    assert line == "Epoch(val) [1][4/4]    a: 1.5000e-07  b: 0.2500  c: nan  d: 3.0000e+08"


def test_text_log_of_a_failed_run_says_why(make_trainer, tmp_path):
    class Broken(Regression):
        def training_step(self, batch, batch_idx):
            return torch.tensor(1.0)  # no graph: backward fails

    with pytest.raises(RuntimeError):
        make_trainer().fit(Broken(), loader(8))
    assert (tmp_path / "root" / "run.log").exists()
