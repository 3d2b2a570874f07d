"""The csv backend: layout, append-only writes, new columns, kill safety, resume, hparams."""

from __future__ import annotations

import csv
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import yaml

from fanlog import FanOut
from fanlog.builtin.csv import CSVLogger


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_layout_and_next_free_version(tmp_path):
    first = CSVLogger(save_dir=tmp_path, name="exp")
    first.log_metrics({"loss": 0.5}, step=0)
    second = CSVLogger(save_dir=tmp_path, name="exp")
    second.log_metrics({"loss": 0.25}, step=0)
    named = CSVLogger(save_dir=tmp_path, name="exp", version="ablation")
    named.log_metrics({"loss": 1.0}, step=0)
    for backend in (first, second, named):
        backend.finalize("success")
    assert first.metrics_file == tmp_path / "exp" / "version_0" / "metrics.csv"
    assert second.metrics_file == tmp_path / "exp" / "version_1" / "metrics.csv"
    assert named.metrics_file == tmp_path / "exp" / "ablation" / "metrics.csv"
    assert read(second.metrics_file) == [{"step": "0", "loss": "0.25"}]


def test_values_read_back_exactly_including_nan_and_inf(tmp_path):
    backend = CSVLogger(save_dir=tmp_path, version=0)
    values = [0.1, 1 / 3, 1e-12, -2.5e300, float("nan"), float("inf"), 3.0]
    for step, value in enumerate(values):
        backend.log_metrics({"v": value}, step=step)
    backend.finalize("success")
    got = [float(r["v"]) for r in read(backend.metrics_file)]
    for expected, value in zip(values, got, strict=True):
        assert value == expected or (math.isnan(value) and math.isnan(expected))


def test_new_columns_keep_every_row(tmp_path):
    backend = CSVLogger(save_dir=tmp_path, version=0, prefix="train")
    backend.log_metrics({"a": 1.0}, step=0)
    backend.log_metrics({"a": 2.0, "b": 20.0}, step=1)
    backend.log_metrics({"c": 300.0}, step=2)
    backend.log_metrics({"a": 4.0}, step=3)
    backend.finalize("success")
    rows = read(backend.metrics_file)
    assert list(rows[0]) == ["step", "train-a", "train-b", "train-c"]
    assert [(r["step"], r["train-a"], r["train-b"], r["train-c"]) for r in rows] == [
        ("0", "1.0", "", ""), ("1", "2.0", "20.0", ""), ("2", "", "", "300.0"),
        ("3", "4.0", "", "")]


def test_rows_are_appended_not_rewritten(tmp_path):
    backend = CSVLogger(save_dir=tmp_path, version=0)
    backend.log_metrics({"a": 1.0, "b": 2.0}, step=0)
    inode = os.stat(backend.metrics_file).st_ino
    sizes = []
    for step in range(1, 50):
        backend.log_metrics({"a": float(step), "b": 1.0}, step=step)
        sizes.append(os.stat(backend.metrics_file).st_size)  # on disk at once, no buffering
    assert os.stat(backend.metrics_file).st_ino == inode
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    backend.finalize("success")


def test_hparams_yaml_reads_back(tmp_path):
    backend = CSVLogger(save_dir=tmp_path, version=0)
    params = {"lr": 0.001, "layers": [64, 32], "opt": {"name": "adam", "betas": [0.9, 0.99]},
              "on": True, "yes": "no", "none": None, "weird key: x": "a\nb", "empty": {}}
    backend.log_hyperparams(params)
    backend.log_hyperparams({"lr": 0.002})
    backend.finalize("success")
    loaded = yaml.safe_load((backend.log_dir / "hparams.yaml").read_text())
    assert loaded == {**params, "lr": 0.002}


def test_resume_continues_the_same_file_without_duplicate_steps(tmp_path):
    first = CSVLogger(save_dir=tmp_path)
    for step in range(10):
        first.log_metrics({"loss": float(step)}, step=step)
    state = {**first.state_dict(), "step": 5}  # the checkpoint was taken at step 5
    for step in range(10, 12):  # more rows after the checkpoint, then a crash
        first.log_metrics({"loss": float(step)}, step=step)
    first.finalize("failed")
    resumed = CSVLogger(save_dir=tmp_path)
    resumed.load_state_dict(state)
    for step in range(4, 9):  # the restarted loop repeats step 4..5 then goes on
        resumed.log_metrics({"loss": step + 0.5, "new": 1.0}, step=step)
    resumed.finalize("success")
    assert resumed.log_dir == first.log_dir
    rows = read(resumed.metrics_file)
    assert [int(r["step"]) for r in rows] == list(range(9))
    assert [r["loss"] for r in rows[5:]] == ["5.0", "6.5", "7.5", "8.5"]


def test_torn_last_line_is_cut_when_reopened(tmp_path):
    backend = CSVLogger(save_dir=tmp_path, version=0)
    backend.log_metrics({"a": 1.0}, step=0)
    backend.finalize("failed")
    with open(backend.metrics_file, "a") as fh:
        fh.write("1,0.12")  # a crash mid-line (power cut)
    again = CSVLogger(save_dir=tmp_path, version=0)
    again.load_state_dict({"version": 0, "step": 0})
    again.log_metrics({"a": 2.0}, step=1)
    again.finalize("success")
    assert [(r["step"], r["a"]) for r in read(again.metrics_file)] == [("0", "1.0"), ("1", "2.0")]


WRITER = textwrap.dedent("""
    import sys
    from fanlog import FanOut
    run = FanOut([{"name": "csv", "save_dir": sys.argv[1], "version": 0}], summary=False)
    step = 0
    while True:
        metrics = {f"m{i}": step * 0.5 + i for i in range(1 + step % 40)}  # columns grow
        run.log_metrics(metrics, step=step)
        step += 1
        if step == 30:
            run.flush()
            print("ready", flush=True)
""")


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.5])
def test_kill_at_any_moment_leaves_only_complete_rows(tmp_path, delay):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    path = tmp_path / "fanlog" / "version_0" / "metrics.csv"
    text = path.read_text()
    assert text.endswith("\n")
    lines = text.splitlines()
    width = len(lines[0].split(","))
    assert width > 2 and len(lines) > 30
    steps = []
    for line in lines[1:]:
        cells = line.split(",")
        assert len(cells) == width, line  # every row complete and aligned with the header
        steps.append(int(cells[0]))
        for cell in cells[1:]:
            if cell:
                float(cell)
    assert steps == list(range(len(steps)))


def test_csv_through_the_fanout_by_name(tmp_path):
    with FanOut([{"name": "csv", "save_dir": str(tmp_path)}], summary=False) as run:
        for step in range(100):
            run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        run.log_hyperparams({"lr": 0.1})
    rows = read(run["csv"].metrics_file)
    assert len(rows) == 100 and float(rows[-1]["loss"]) == 1.0 / 100


# -- files that round-trip -------------------------------------------------------------------

EDGE_PARAMS = {"lr": 1e-05, "eps": 1e-08, "big": 3e+30, "tiny": 5e-324, "n": 7, "neg": -3,
               "amp": True, "off": False, "none": None, "emoji": "🚀 launch 🧪",
               "quote": 'say "hi", then\nleave', "yes": "no", "num_text": "1e-05",
               "opt": {"name": "adam", "betas": [0.9, 0.999], "inner": {"wd": 1e-04}},
               "layers": [64, 32], "mixed": [1, "two", 3.5e-10, None, True], "empty": {}}


def test_hparams_yaml_loads_back_equal_with_types(tmp_path):
    backend = CSVLogger(save_dir=tmp_path, version=0)
    backend.log_hyperparams(EDGE_PARAMS)
    backend.finalize("success")
    text = (backend.log_dir / "hparams.yaml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    assert loaded == EDGE_PARAMS
    assert type(loaded["lr"]) is float and type(loaded["n"]) is int  # not the string '1e-05'
    text.encode("utf-8")  # no lone surrogate halves


def test_hparams_yaml_is_what_lightning_writes(tmp_path):
    saving = pytest.importorskip("lightning.pytorch.core.saving",  # the reference, not us
                                 reason="Lightning is the reference here")
    backend = CSVLogger(save_dir=tmp_path, version=0)
    backend.log_hyperparams(EDGE_PARAMS)
    backend.finalize("success")
    theirs = tmp_path / "lightning.yaml"
    saving.save_hparams_to_yaml(theirs, EDGE_PARAMS, use_omegaconf=False)
    assert (backend.log_dir / "hparams.yaml").read_bytes() == theirs.read_bytes()
    assert saving.load_hparams_from_yaml(backend.log_dir / "hparams.yaml") == EDGE_PARAMS


QUOTED = ["acc,top1", 'say "hi"', "a\nb", "cr\rlf", "emoji 🚀", "plain"]


def test_names_that_need_quoting_read_back_with_dictreader(tmp_path):
    backend = CSVLogger(save_dir=tmp_path, version=0)
    for step, name in enumerate(QUOTED):
        backend.log_metrics({name: float(step), "loss": 1e-05 * step}, step=step)
    backend.finalize("success")
    again = CSVLogger(save_dir=tmp_path, version=0)  # reopened: the header is read back
    again.load_state_dict({"version": 0, "step": len(QUOTED) - 1})
    again.log_metrics({"after,reopen": 1.0, "a\nb": 2.0}, step=len(QUOTED))
    again.finalize("success")
    rows = read(again.metrics_file)
    assert list(rows[0]) == ["step", QUOTED[0], "loss", *QUOTED[1:], "after,reopen"]
    assert [r["step"] for r in rows] == [str(s) for s in range(len(QUOTED) + 1)]
    for step, name in enumerate(QUOTED):
        assert float(rows[step][name]) == step
        assert float(rows[step]["loss"]) == 1e-05 * step
    assert (rows[-1]["after,reopen"], rows[-1]["a\nb"]) == ("1.0", "2.0")


def test_a_metric_named_step_cannot_shadow_the_step_column(tmp_path):
    backend = CSVLogger(save_dir=tmp_path, version=0)
    with pytest.raises(ValueError, match="step column"):
        backend.log_metrics({"step": 3.0}, step=0)
    backend.log_metrics({"x": 1.0}, step=0)
    backend.finalize("success")
    assert read(backend.metrics_file) == [{"step": "0", "x": "1.0"}]
    prefixed = CSVLogger(save_dir=tmp_path, version=1, prefix="train")
    prefixed.log_metrics({"step": 3.0}, step=0)  # "train-step": no clash
    prefixed.finalize("success")
    assert read(prefixed.metrics_file) == [{"step": "0", "train-step": "3.0"}]


def test_lightning_flush_logs_every_n_steps_is_accepted_and_rows_are_on_disk_at_once(tmp_path):
    with FanOut([{"name": "csv", "save_dir": str(tmp_path), "flush_logs_every_n_steps": 50}],
                summary=False) as run:
        run.log_metrics({"loss": 0.5}, step=0)
        run.flush()
        assert read(run["csv"].metrics_file) == [{"step": "0", "loss": "0.5"}]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="flush_logs_every_n_steps"):
            CSVLogger(save_dir=tmp_path, flush_logs_every_n_steps=bad)
