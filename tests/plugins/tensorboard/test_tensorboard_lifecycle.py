"""Start late, finish cleanly: finalize closes the writer, and fork() cannot misuse it."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
import tensorboard  # noqa: F401  (collected first, as the SDK wants)
from fanlog_tensorboard import TensorBoardLogger


def _writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if type(t).__name__ == "_AsyncWriterThread"]


def test_finalize_closes_everything_and_is_idempotent(tmp_path: Path, read_run) -> None:
    before = len(_writer_threads())
    lg = TensorBoardLogger(save_dir=tmp_path, flush_secs=3600, default_hp_metric=False)
    for step in range(2000):  # never saved: finalize alone must make all of it durable
        lg.log_metrics({"a": float(step), "b": -float(step)}, step)
    writer = lg.experiment
    assert len(_writer_threads()) == before + 1
    lg.finalize("success")
    lg.finalize("success")
    assert writer.file_writer is None  # closed
    assert len(_writer_threads()) == before
    acc = read_run(lg.log_dir)
    assert [e.step for e in acc.Scalars("a")] == list(range(2000))
    assert acc.Scalars("b")[-1].value == -1999.0


def test_save_makes_events_readable_while_running(logger: TensorBoardLogger, read_run) -> None:
    logger.log_metrics({"loss": 0.25}, 3)
    logger.save()
    assert [(e.step, e.value) for e in read_run(logger.log_dir).Scalars("loss")] == [(3, 0.25)]


def test_finalize_without_a_run_creates_nothing(tmp_path: Path) -> None:
    lg = TensorBoardLogger(save_dir=tmp_path / "logs")
    lg.finalize("success")
    assert not (tmp_path / "logs").exists()


def test_logging_after_finalize_opens_a_new_event_file(tmp_path: Path, read_run) -> None:
    lg = TensorBoardLogger(save_dir=tmp_path, default_hp_metric=False)
    lg.log_metrics({"loss": 1.0}, 1)
    lg.finalize("success")
    lg.log_metrics({"test/loss": 2.0}, 1)  # e.g. a test pass after fit, as in Lightning
    lg.finalize("success")
    acc = read_run(lg.log_dir)
    assert [(e.step, e.value) for e in acc.Scalars("test/loss")] == [(1, 2.0)]
    assert len(os.listdir(lg.log_dir)) == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_cannot_use_the_parents_writer(logger: TensorBoardLogger) -> None:
    logger.log_metrics({"loss": 1.0}, 0)
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            _ = logger.experiment
        except RuntimeError as exc:
            code = 0 if "forked" in str(exc) else 2
        finally:
            sys.stdout.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    logger.log_metrics({"loss": 0.5}, 1)  # the parent's writer still works
