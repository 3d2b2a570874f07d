"""A script that never calls finalize: the fan-out finalizes at exit, and every point that
was logged must still reach the run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

STEP = "trainer/global_step"


def run_script(body: str, save_dir) -> None:
    script = textwrap.dedent(f"""
        from fanlog import FanOut
        fan = FanOut(["wandb"], run_defaults={{"save_dir": {str(save_dir)!r}}}, summary=False)
    """) + textwrap.dedent(body)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


def test_run_that_starts_only_at_exit_keeps_everything(tmp_path, read_run):
    # the loop ends before the worker has even imported wandb
    run_script("""
        for step in range(300):
            fan.log_metrics({"x": float(step)}, step=step)
    """, tmp_path)
    run = read_run(tmp_path)
    assert [row[STEP] for row in run.history] == list(range(300))
    assert run.exit_code == 0


def test_open_run_at_exit_keeps_everything(tmp_path, read_run):
    run_script("""
        fan.log_metrics({"x": -1.0}, step=0)
        fan.flush()  # the run has started
        for step in range(1, 2000):
            fan.log_metrics({"x": float(step)}, step=step)
    """, tmp_path)
    assert [row[STEP] for row in read_run(tmp_path).history] == list(range(2000))
