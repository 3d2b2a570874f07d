"""The backend selected by name and driven by the fan-out's worker thread: every point
arrives, in any step order, while W&B's own explicit steps would drop some."""

from __future__ import annotations

import threading

from fanlog_wandb import WandbLogger

from fanlog import FanOut, Status

STEP = "trainer/global_step"


def test_selected_by_name_every_point_arrives_from_the_worker_thread(
        tmp_path, read_run, monkeypatch):
    threads: set[str] = set()
    real = WandbLogger.log_metrics

    def spy(self, metrics, step):
        threads.add(threading.current_thread().name)
        real(self, metrics, step)

    monkeypatch.setattr(WandbLogger, "log_metrics", spy)
    fan = FanOut(["wandb"], run_defaults={"save_dir": str(tmp_path / "runs"), "name": "by-name"},
                 summary=False)
    assert isinstance(fan.backends["wandb"], WandbLogger)
    expected = []
    for step in range(300):
        fan.log_metrics({"loss": step / 7}, step=step)
        expected.append({"loss": step / 7, STEP: step})
        if step % 25 == 24:  # validation reported for an earlier step, after later ones
            fan.log_metrics({"val_loss": step / 3}, step=step - 20)
            expected.append({"val_loss": step / 3, STEP: step - 20})
    summary = fan.finalize(Status.SUCCESS)

    assert summary.complete and summary.backends["wandb"].delivered == len(expected) + 1
    assert threads == {"fanlog-wandb"}
    run = read_run(tmp_path / "runs")
    assert run.run["display_name"] == "by-name"
    assert run.history == expected


def test_wandb_alone_drops_a_lower_explicit_step(tmp_path, read_run):
    """The failure the backend avoids by never passing ``step=``: W&B silently drops a
    point whose explicit step is lower than the run's current step."""
    import wandb

    def work() -> None:
        run = wandb.init(dir=tmp_path, project="p")
        for step in range(5):
            run.log({"loss": float(step)}, step=step)
        run.log({"val_loss": 1.0}, step=2)
        run.finish()
        wandb.teardown()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    history = read_run(tmp_path).history
    assert [row["loss"] for row in history] == [0, 1, 2, 3, 4]
    assert not any("val_loss" in row for row in history)


def test_options_win_over_run_defaults(tmp_path, read_run):
    fan = FanOut([{"logger": "wandb", "save_dir": str(tmp_path / "mine"), "name": "mine"}],
                 run_defaults={"save_dir": str(tmp_path / "default"), "name": "default"},
                 summary=False)
    fan.log_metrics({"x": 1.0}, step=0)
    fan.finalize(Status.SUCCESS)
    assert not (tmp_path / "default").exists()
    assert read_run(tmp_path / "mine").run["display_name"] == "mine"
