"""The text log as MMEngine prints it, one rule per test (the numbers are what MMEngine
0.10.7 prints for the same run: tests/mmengine checks whole runs against it)."""

from __future__ import annotations

import re

import pytest

import fanlog
from fanlog.callbacks import LearningRateMonitor
from fanlog.logprocessor import LogProcessor
from tests.core.trainer.trainer_models import Regression, loader

STAMP = re.compile(r"^\d\d/\d\d \d\d:\d\d:\d\d - fanlog - \w+ - ")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Scripted(Regression):
    """Each training step takes ``seconds[i]`` on ``clock`` and logs ``values`` (f(i))."""

    def __init__(self, clock=None, seconds=(), values=None, **kw):
        super().__init__(**kw)
        self.clock, self.seconds, self.values = clock, list(seconds), values or {}
        self.i = 0

    def training_step(self, batch, batch_idx):
        if self.clock is not None:
            self.clock.now += self.seconds[self.i % len(self.seconds)]
        for name, f in self.values.items():
            if name.startswith("train/"):
                fanlog.log_scalar(name, f(self.i))
            else:
                self.log(name, f(self.i))
        self.i += 1
        return super().training_step(batch, batch_idx)


def text_lines(tmp_path):
    text = (tmp_path / "root" / "run.log").read_text(encoding="utf-8")
    return [STAMP.sub("", line) for line in text.splitlines()]


def iteration_lines(tmp_path, stage="train"):
    """The iteration lines of ``stage`` (epoch lines have no eta)."""
    return [line for line in text_lines(tmp_path)
            if re.match(rf"(Epoch|Iter)\({stage}\)", line) and " eta: " in line]


def fields(line):
    return dict(part.split(": ", 1) for part in line.split("  ")[1:] if ": " in part)


# 1 ------------------------------------------------------------------------------------------
def test_lr_is_the_rate_the_iteration_used(make_trainer, recorder, tmp_path):
    module = Regression(lr=0.01, scheduler={"name": "StepLR", "step_size": 1, "gamma": 0.5,
                                            "interval": "step"})
    trainer = make_trainer(loggers=[recorder], log_every_n_steps=2,
                           callbacks=[LearningRateMonitor()])
    trainer.fit(module, loader(16))  # 4 iterations at 1e-2, 5e-3, 2.5e-3, 1.25e-3
    lines = iteration_lines(tmp_path)
    assert [fields(line)["lr"] for line in lines] == ["5.0000e-03", "1.2500e-03"]
    assert not any("lr-SGD" in line for line in lines)  # one lr field
    sent = [m["lr-SGD"] for _, m in recorder.metrics if "lr-SGD" in m]
    assert [f"{v:.4e}" for v in sent] == ["5.0000e-03", "1.2500e-03"]  # the same rates


# 2 ------------------------------------------------------------------------------------------
def test_eta_is_the_mean_time_so_far_times_what_is_left_truncated(make_trainer, tmp_path):
    clock = Clock()
    trainer = make_trainer(log_every_n_steps=4, log_processor=LogProcessor(
        window_size=2, clock=clock))
    trainer.fit(Scripted(clock, seconds=[1, 1, 1, 4]), loader(56))  # 14 iterations
    first = fields(iteration_lines(tmp_path)[0])
    assert first["time"] == "2.5000"  # the window's mean: (1 + 4) / 2
    assert first["eta"] == "0:00:17"  # 7 s / 4 iterations x 10 left = 17.5 s, truncated


# 3 ------------------------------------------------------------------------------------------
def test_metrics_are_current_unless_they_match_mean_pattern(make_trainer, tmp_path):
    values = {"acc": lambda i: float(i), "my_loss": lambda i: float(i),
              "grad_norm": lambda i: float(i), "top1": lambda i: float(i)}
    processor = LogProcessor(window_size=4, mean_pattern=r".*(loss|grad_norm|top).*")
    make_trainer(log_every_n_steps=4, log_processor=processor).fit(
        Scripted(values=values), loader(32))
    first = fields(iteration_lines(tmp_path)[0])
    assert first["acc"] == "3.0000"  # iterations 0..3: acc is current
    assert first["my_loss"] == first["grad_norm"] == first["top1"] == "1.5000"


# 4 ------------------------------------------------------------------------------------------
def test_numbers_have_four_decimals_and_lr_e_notation(make_trainer, tmp_path):
    values = {"big": lambda i: 1234571.5, "tiny": lambda i: 1.5e-7}
    make_trainer(log_every_n_steps=2).fit(Scripted(values=values), loader(8))
    line = iteration_lines(tmp_path)[0]
    assert "  big: 1234571.5000  tiny: 0.0000" in line and "lr: 5.0000e-02" in line
    readable = LogProcessor(style="readable")
    assert readable.epoch_line("test", {"big": 1234571.5}, 1, 2).endswith("1.2346e+06")
    with pytest.raises(ValueError, match="style"):
        LogProcessor(style="fancy")


# 5 ------------------------------------------------------------------------------------------
def test_padding(make_trainer, tmp_path):
    from fanlog.lineformat import header

    make_trainer(max_epochs=10, log_every_n_steps=5).fit(Regression(), loader(100, 4))
    lines = iteration_lines(tmp_path)
    assert lines[0].startswith("Epoch(train)  [1][ 5/25]  lr: ")
    assert lines[-1].startswith("Epoch(train) [10][25/25]  lr: ")
    assert header("train", False, 10, 1000) == "Iter(train) [  10/1000]"
    assert header("val", True, 5, 25, epoch=2, max_epochs=10) == "Epoch(val)  [2][ 5/25]"


# 6 ------------------------------------------------------------------------------------------
def test_evaluation_epoch_lines(make_trainer, tmp_path):
    trainer = make_trainer(log_every_n_steps=50)
    trainer.fit(Regression(), loader(8), loader(8))
    trainer.test(Regression(), loader(12))
    lines = text_lines(tmp_path)
    val = next(line for line in lines if line.startswith("Epoch(val)"))
    test = next(line for line in lines if line.startswith("Epoch(test)"))
    assert re.fullmatch(r"Epoch\(val\) \[1\]\[2/2\]    val_loss: \d+\.\d{4}  "
                        r"data_time: \d\.\d{4}  time: \d\.\d{4}", val)
    assert re.fullmatch(r"Epoch\(test\) \[3/3\]    test_loss: \d+\.\d{4}  "
                        r"data_time: \d\.\d{4}  time: \d\.\d{4}", test)


# 7 ------------------------------------------------------------------------------------------
def test_lines_every_interval_of_the_epoch(make_trainer, tmp_path):
    make_trainer(max_epochs=2, log_every_n_steps=10).fit(Regression(), loader(100, 4))
    heads = [line.split("  ")[0] for line in iteration_lines(tmp_path)]
    assert heads == ["Epoch(train) [1][10/25]", "Epoch(train) [1][20/25]",
                     "Epoch(train) [2][10/25]", "Epoch(train) [2][20/25]"]


def test_an_epoch_shorter_than_the_interval_logs_its_end(make_trainer, tmp_path):
    make_trainer(max_epochs=2, log_every_n_steps=10).fit(Regression(), loader(16, 4))
    heads = [line.split("  ")[0] for line in iteration_lines(tmp_path)]
    assert heads == ["Epoch(train) [1][4/4]", "Epoch(train) [2][4/4]"]


# 8 ------------------------------------------------------------------------------------------
def test_a_replaced_field_keeps_its_place(make_trainer, tmp_path):
    values = {"a_loss": lambda i: float(i), "acc": lambda i: float(i)}
    processor = LogProcessor(custom_cfg=[{"data_src": "a_loss", "method_name": "max"}])
    make_trainer(log_every_n_steps=4, log_processor=processor).fit(
        Scripted(values=values), loader(16))
    names = list(fields(iteration_lines(tmp_path)[0]))
    assert names[names.index("data_time") + 1:] == ["a_loss", "acc", "loss"]


# 9 ------------------------------------------------------------------------------------------
def test_validation_iteration_lines(make_trainer, tmp_path):
    make_trainer(log_every_n_steps=2).fit(Regression(), loader(8), loader(20))  # 5 batches
    val = iteration_lines(tmp_path, "val")
    assert [line.split("    ")[0] for line in val] == ["Epoch(val) [1][2/5]",
                                                       "Epoch(val) [1][4/5]"]
    assert re.fullmatch(r"Epoch\(val\) \[1\]\[2/5\]    eta: 0:00:00  time: \d\.\d{4}  "
                        r"data_time: \d\.\d{4}  ", val[0])


def test_exp_name_at_the_end_of_each_epoch(make_trainer, tmp_path):
    processor = LogProcessor(experiment_name="toy_run")
    make_trainer(max_epochs=2, log_every_n_steps=2, log_processor=processor).fit(
        Regression(), loader(16))
    lines = [line for line in text_lines(tmp_path) if line.startswith(("Epoch(train)", "Exp"))]
    assert [line.split("  ")[0] for line in lines] == [
        "Epoch(train) [1][2/4]", "Exp name: toy_run", "Epoch(train) [1][4/4]",
        "Epoch(train) [1][4/4]", "Epoch(train) [2][2/4]", "Exp name: toy_run",
        "Epoch(train) [2][4/4]", "Epoch(train) [2][4/4]"]  # the last: the epoch's values


def test_exp_name_defaults_to_the_run_folder(make_trainer, tmp_path):
    make_trainer().fit(Regression(), loader(8))
    assert "Exp name: root" in text_lines(tmp_path)


def test_by_iterations_end_to_end(make_trainer, tmp_path):
    trainer = make_trainer(max_epochs=None, max_steps=30, log_every_n_steps=10,
                           val_check_interval=1.0, check_val_every_n_epoch=2,
                           log_processor=LogProcessor(by_epoch=False))
    trainer.fit(Regression(), loader(40, 4), loader(12, 4))  # 10 iterations an epoch
    trainer.test(Regression(), loader(8, 4))
    heads = [line.split("  ")[0] for line in text_lines(tmp_path)
             if line.startswith(("Iter", "Exp"))]
    assert heads == [  # Exp name after the first pass through the loader (MMEngine)
        "Exp name: root", "Iter(train) [10/30]", "Iter(train) [10/10]",  # epoch values
        "Iter(train) [20/30]", "Iter(val) [3/3]", "Iter(train) [10/10]",
        "Iter(train) [30/30]", "Iter(train) [10/10]", "Iter(test) [2/2]"]


# 10 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("custom", "by_epoch", "message"), [
    ([{"data_src": "loss", "window_size": 5}, {"data_src": "loss", "method_name": "max"}],
     True, "overrides the same metric twice: 'loss'"),
    ([{"data_src": "loss", "log_name": "x"}, {"data_src": "acc", "log_name": "x"}],
     True, "repeats a log_name: 'x'"),
    ([{"data_src": "loss", "window_size": "epoch", "log_name": "e"}], False,
     "window_size 'epoch' needs by_epoch=True"),
])
def test_custom_cfg_is_checked_as_mmengine_does(custom, by_epoch, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        LogProcessor(by_epoch=by_epoch, custom_cfg=custom)


def test_custom_cfg_for_time(make_trainer, tmp_path):
    clock = Clock()
    processor = LogProcessor(clock=clock, custom_cfg=[
        {"data_src": "time", "method_name": "max", "window_size": 4},
        {"data_src": "time", "method_name": "min", "window_size": 4, "log_name": "time_min"}])
    make_trainer(log_every_n_steps=4, log_processor=processor).fit(
        Scripted(clock, seconds=[1, 3, 2, 1]), loader(16))
    first = fields(iteration_lines(tmp_path)[0])
    assert first["time"] == "3.0000" and first["time_min"] == "1.0000"


# 11 -----------------------------------------------------------------------------------------
def test_the_mmaction2_port_prints_loss_tmp(make_trainer, tmp_path):
    processor = LogProcessor(window_size=20, custom_cfg=[
        {"data_src": "loss_tmp", "window_size": 2, "method_name": "mean"}])
    make_trainer(log_every_n_steps=4, log_processor=processor).fit(
        Scripted(values={"train/loss_tmp": lambda i: float(i)}), loader(16))
    first = fields(iteration_lines(tmp_path)[0])
    assert first["loss_tmp"] == "2.5000"  # the window of 2 (not the processor's 20)
    assert not any("train/loss_tmp" in line for line in text_lines(tmp_path))


def test_a_data_src_nothing_logged_is_named(make_trainer):
    processor = LogProcessor(custom_cfg=[{"data_src": "loss_tpm", "method_name": "max"}])
    with pytest.warns(UserWarning, match=r"data_src 'loss_tpm' matches no training metric "
                                         r"logged so far: \['loss'\]"):
        make_trainer(log_processor=processor).fit(Regression(), loader(8))


# 12 -----------------------------------------------------------------------------------------
def test_get_scalar_answers_as_mmengines_history_buffer(make_trainer):
    seen = {}

    class Reader(Regression):
        def training_step(self, batch, batch_idx):
            if batch_idx == 30:  # values 0..29 logged, none of them at a logging step
                history = fanlog.get_scalar("train/idx")
                seen.update(mean20=history.mean(20), max=history.max(), current=history.current(),
                            mean=history.statistics("mean"))
            self.log("idx", float(batch_idx))
            return super().training_step(batch, batch_idx)

    make_trainer(log_every_n_steps=50).fit(Reader(), loader(124, 4))
    assert seen == {"mean20": 19.5, "max": 29.0, "current": 29.0, "mean": 14.5}


def test_get_scalar_says_when_the_history_is_too_short(make_trainer):
    errors = []

    class Reader(Regression):
        def training_step(self, batch, batch_idx):
            self.log("idx", float(batch_idx))
            if batch_idx == 7:
                try:
                    fanlog.get_scalar("idx").mean(6)
                except ValueError as error:
                    errors.append(str(error))
            return super().training_step(batch, batch_idx)

    make_trainer(log_processor=LogProcessor(window_size=2, history_size=5)).fit(
        Reader(), loader(32, 4))
    assert errors == ["a statistic over 6 values, but only the last 5 of 8 are kept; keep "
                      "more with LogProcessor(history_size=...)"]


def test_a_validation_inside_the_epoch_keeps_to_its_own_times(make_trainer, tmp_path):
    clock = Clock()

    class SlowValidation(Scripted):
        def validation_step(self, batch, batch_idx):
            clock.now += 100.0
            return super().validation_step(batch, batch_idx)

    trainer = make_trainer(log_every_n_steps=2, val_check_interval=0.5,
                           log_processor=LogProcessor(clock=clock))
    trainer.fit(SlowValidation(clock, seconds=[1]), loader(32), loader(8))  # 8 batches
    train = [fields(line) for line in iteration_lines(tmp_path)]
    assert [f["time"] for f in train] == ["1.0000"] * 4  # validation ran after batch 4
    assert [f["eta"] for f in train] == ["0:00:06", "0:00:04", "0:00:02", "0:00:00"]
    val = [fields(line.replace("    ", "  ")) for line in text_lines(tmp_path)
           if line.startswith("Epoch(val)")]
    assert {f["time"] for f in val} == {"100.0000"}
