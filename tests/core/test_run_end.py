"""Runs end with the right status on normal exit, an exception, Ctrl-C, or a forgotten
finalize: checked in real subprocesses with the csv and console backends."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

PRELUDE = textwrap.dedent("""
    import sys, time
    from fanlog import FanOut

    class Marker:
        def log_metrics(self, metrics, step):
            pass

        def finalize(self, status):
            with open(sys.argv[1], "w") as fh:
                fh.write(status.value)

    run = FanOut([Marker(), {"name": "csv", "save_dir": sys.argv[2], "version": 0}])
    for step in range(20):
        run.log_metrics({"x": step}, step=step)
""")


def run_script(tmp_path, body, **kw):
    marker = tmp_path / "status.txt"
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body),
                           str(marker), str(tmp_path)], capture_output=True, text=True,
                          timeout=60, **kw)
    rows = (tmp_path / "fanlog" / "version_0" / "metrics.csv").read_text().splitlines()
    return proc, marker.read_text(), len(rows) - 1


def test_forgotten_finalize_runs_at_exit_with_success(tmp_path):
    proc, status, rows = run_script(tmp_path, "")
    assert proc.returncode == 0 and status == "success" and rows == 20
    assert "fanlog run summary (status: success)" in proc.stderr


def test_uncaught_exception_finalizes_as_failed(tmp_path):
    proc, status, rows = run_script(tmp_path, "raise RuntimeError('diverged')")
    assert proc.returncode == 1 and "diverged" in proc.stderr
    assert status == "failed" and rows == 20


def test_ctrl_c_finalizes_as_interrupted(tmp_path):
    marker = tmp_path / "status.txt"
    body = textwrap.dedent("""
        with run:
            print("ready", flush=True)
            step = 20
            while True:
                run.log_metrics({"x": step}, step=step)
                step += 1
                time.sleep(0.001)
    """)
    proc = subprocess.Popen([sys.executable, "-c", PRELUDE + body, str(marker), str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "KeyboardInterrupt" in err
    assert marker.read_text() == "interrupted"
    lines = (tmp_path / "fanlog" / "version_0" / "metrics.csv").read_text().splitlines()
    steps = [int(line.split(",")[0]) for line in lines[1:]]
    assert steps == list(range(len(steps))) and len(steps) >= 20  # nothing lost or torn


@pytest.mark.parametrize("policy", ["continue", "raise_at_end"])
def test_a_failing_backend_does_not_kill_the_run(tmp_path, policy):
    body = textwrap.dedent(f"""
        class Bad:
            def log_metrics(self, metrics, step):
                raise ValueError("backend bug")
        run2 = FanOut([Bad(), {{"logger": "csv", "save_dir": sys.argv[2], "name": "other"}}],
                      on_error={policy!r})
        for step in range(50):
            run2.log_metrics({{"x": step}}, step=step)
        try:
            run2.finalize()
        except Exception as exc:
            print("RAISED", type(exc).__name__)
        print("training finished")
    """)
    proc, _status, _ = run_script(tmp_path, body)
    assert "training finished" in proc.stdout and proc.returncode == 0
    assert ("RAISED BackendError" in proc.stdout) == (policy == "raise_at_end")
    other = (tmp_path / "other" / "version_0" / "metrics.csv").read_text().splitlines()
    assert len(other) == 51
    assert proc.stderr.count("'bad' raised and is fenced off") == 1
