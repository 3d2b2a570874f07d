"""FanLogger inside the real Lightning Trainer: its values beside Lightning's own
CSVLogger, a failing and a slow backend beside csv, the folders ModelCheckpoint uses,
hyperparameters, checkpoints, failures, config sources, pytorch_lightning."""

from __future__ import annotations

import signal
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
import yaml
from lightning.pytorch.loggers import CSVLogger

from fanlog import Status
from fanlog.integrations.lightning import FanLogger
from fanlog.testing import RecordingLogger
from tests.integrations.lightning.models import loader, tiny_module, trainer_kwargs
from tests.integrations.support import Copying, misbehaving, read_csv


def _lightning_rows(path: Path) -> dict[int, dict[str, float]]:
    """Lightning's own metrics.csv (step is a column there too)."""
    import csv

    with open(path, newline="") as fh:
        return {int(r["step"]): {k: float(v) for k, v in r.items() if k != "step" and v}
                for r in csv.DictReader(fh)}


def test_values_match_lightnings_csvlogger_with_a_failing_and_a_slow_backend(tmp_path):
    raising, sleeping = misbehaving()
    fan = FanLogger(["csv", raising, sleeping], save_dir=tmp_path / "fan")
    theirs = CSVLogger(tmp_path / "pl")
    trainer = pl.Trainer(logger=[fan, theirs], **trainer_kwargs(tmp_path))
    trainer.fit(tiny_module(pl.LightningModule), loader())

    ours = read_csv(Path(fan.log_dir) / "metrics.csv")
    expected = _lightning_rows(Path(theirs.log_dir) / "metrics.csv")
    assert len(expected) == 16  # 2 epochs x 8 steps, every step logged
    assert ours == expected
    assert trainer.state.finished
    # the slow backend got every row, the failing one was fenced after its first call
    assert [step for step, _ in sleeping.metrics] == sorted(expected)
    assert sleeping.finalized == [Status.SUCCESS]
    summary = fan.summary
    assert summary.backends["raising"].state == "failed"
    assert summary.backends["csv"].lost == 0 and summary.backends["sleeping"].lost == 0


def test_checkpoints_and_files_share_the_run_folder(tmp_path):
    recorder = RecordingLogger()
    fan = FanLogger(["csv", recorder], save_dir=tmp_path, name="exp")
    trainer = pl.Trainer(logger=fan, **trainer_kwargs(tmp_path))
    trainer.fit(tiny_module(pl.LightningModule), loader())

    log_dir = tmp_path / "exp" / "version_0"
    assert fan.log_dir == str(log_dir) and fan.version == 0 and fan.name == "exp"
    assert fan.save_dir == str(tmp_path) and trainer.log_dir == str(tmp_path)
    best = Path(trainer.checkpoint_callback.best_model_path)
    assert best.parent == log_dir / "checkpoints" and best.is_file()
    assert (log_dir / "metrics.csv").is_file()
    assert yaml.safe_load((log_dir / "hparams.yaml").read_text()) == {"lr": 0.05, "hidden": 8}
    sent = recorder.of("log_artifact")
    assert [a["name"] for a in sent] == ["epoch=0-step=8.ckpt", best.name]  # each once
    assert all(a["metadata"] == {"kind": "checkpoint"} for a in sent)
    assert not (best.parent / ".fanlog-staged").exists()  # the links went at the end


def test_a_backend_behind_its_queue_still_gets_the_checkpoints_lightning_deleted(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    copying = Copying(store)

    class OpenGateAtTheEnd(pl.Callback):
        def on_train_end(self, trainer, module):
            copying.gate.set()

    fan = FanLogger(["csv", copying], save_dir=tmp_path)
    trainer = pl.Trainer(logger=fan, callbacks=[OpenGateAtTheEnd()],
                         **trainer_kwargs(tmp_path, max_epochs=3))
    trainer.fit(tiny_module(pl.LightningModule), loader())
    names = ["epoch=0-step=8.ckpt", "epoch=1-step=16.ckpt", "epoch=2-step=24.ckpt"]
    checkpoints = Path(fan.log_dir) / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == names[-1:]  # top-1 kept
    assert copying.stored == names
    assert fan.summary.backends["copying"].state == "ok"
    for name in names:
        assert (store / name).stat().st_size > 0


def test_runs_take_the_next_free_version_and_a_later_test_appends(tmp_path):
    first = FanLogger(["csv"], save_dir=tmp_path)
    second = FanLogger(["csv"], save_dir=tmp_path)
    assert (first.version, second.version) == (0, 1)
    named = FanLogger(["csv"], save_dir=tmp_path, version="trial")
    assert named.log_dir == str(tmp_path / "lightning_logs" / "trial")

    trainer = pl.Trainer(logger=first, **trainer_kwargs(tmp_path, max_epochs=1))
    module = tiny_module(pl.LightningModule)
    trainer.fit(module, loader())
    trainer.validate(module, loader(2))  # after finalize: a new run in the same folder
    rows = read_csv(Path(first.log_dir) / "metrics.csv")
    assert sorted(rows) == list(range(9))
    assert set(rows[8]) == {"val_loss", "epoch"} and set(rows[7]) == {"loss", "double", "epoch"}


def test_a_model_that_raises_ends_the_backends_run_failed(tmp_path):
    recorder = RecordingLogger()
    fan = FanLogger(["csv", recorder], save_dir=tmp_path)
    trainer = pl.Trainer(logger=fan, **trainer_kwargs(tmp_path))
    with pytest.raises(RuntimeError, match="the model fails"):
        trainer.fit(tiny_module(pl.LightningModule, fail_at=5), loader())
    assert recorder.finalized == [Status.FAILED]
    assert sorted(read_csv(Path(fan.log_dir) / "metrics.csv")) == [0, 1, 2, 3, 4]


def test_ctrl_c_ends_the_backends_run_interrupted(tmp_path):
    recorder = RecordingLogger()
    fan = FanLogger([recorder], save_dir=tmp_path)
    trainer = pl.Trainer(logger=fan, **trainer_kwargs(tmp_path))
    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit):  # Lightning's graceful shutdown on Ctrl-C
            trainer.fit(tiny_module(pl.LightningModule, fail_at=3, error=KeyboardInterrupt),
                        loader())
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores SIGINT from then on
    assert recorder.finalized == [Status.INTERRUPTED]  # Lightning itself says "failed"
    assert [step for step, _ in recorder.metrics] == [0, 1, 2]


def test_loggers_come_from_fanlogs_config_sources(tmp_path, monkeypatch):
    (Path.cwd() / "fanlog.toml").write_text('[loggers.csv]\nprefix = "fit"\n')
    fan = FanLogger(save_dir=tmp_path)
    trainer = pl.Trainer(logger=fan, **trainer_kwargs(tmp_path, max_epochs=1))
    trainer.fit(tiny_module(pl.LightningModule), loader())
    assert list(fan.summary.backends) == ["csv"]
    assert "fit-loss" in read_csv(Path(fan.log_dir) / "metrics.csv")[0]

    monkeypatch.setenv("FANLOG_LOGGERS", "console")
    from_env = FanLogger(save_dir=tmp_path)
    assert list(from_env.experiment.backends) == ["console"]
    from_env.finalize("success")


def test_loggers_as_dicts_with_options(tmp_path):
    fan = FanLogger([{"name": "csv", "prefix": "train"}, "console"],
                    save_dir=tmp_path, summary=False)
    trainer = pl.Trainer(logger=fan, **trainer_kwargs(tmp_path, max_epochs=1))
    trainer.fit(tiny_module(pl.LightningModule), loader())
    assert list(fan.summary.backends) == ["csv", "console"]
    assert "train-loss" in read_csv(Path(fan.log_dir) / "metrics.csv")[0]


def test_the_graph_goes_out_only_when_asked(tmp_path):
    for log_graph in (False, True):
        recorder = RecordingLogger()
        fan = FanLogger([recorder], save_dir=tmp_path, log_graph=log_graph)
        trainer = pl.Trainer(logger=fan, **trainer_kwargs(tmp_path, max_epochs=1))
        module = tiny_module(pl.LightningModule)
        module.example_input_array = torch.zeros(2, 8)
        trainer.fit(module, loader())
        graphs = recorder.of("log_graph")
        assert [g["model"] for g in graphs] == ([module] if log_graph else [])
        assert all(g["example_input"] is module.example_input_array for g in graphs)


def test_an_unknown_fanout_option_fails_at_construction():
    with pytest.raises(TypeError, match="unknown option"):
        FanLogger(["csv"], on_eror="raise")


def test_pytorch_lightning_trainer(tmp_path):
    import pytorch_lightning

    from fanlog.integrations.pytorch_lightning import FanLogger as PLFanLogger

    fan = PLFanLogger(["csv"], save_dir=tmp_path)
    assert isinstance(fan, pytorch_lightning.loggers.Logger)
    trainer = pytorch_lightning.Trainer(logger=fan, **trainer_kwargs(tmp_path))
    trainer.fit(tiny_module(pytorch_lightning.LightningModule), loader())
    assert sorted(read_csv(Path(fan.log_dir) / "metrics.csv")) == list(range(16))
    assert Path(trainer.checkpoint_callback.best_model_path).parent == \
        Path(fan.log_dir) / "checkpoints"
