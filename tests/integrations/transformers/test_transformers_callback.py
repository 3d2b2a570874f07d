"""FanLogCallback inside the real Hugging Face Trainer (CPU, a tiny GPT-2 from a config):
every log the Trainer keeps in its own ``log_history`` reaches metrics.csv, beside a
failing and a slow backend; hyperparameters, checkpoints, the run's end."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
import yaml
from transformers import Trainer, TrainerCallback

from fanlog import Status
from fanlog.integrations.transformers import FanLogCallback
from fanlog.testing import RecordingLogger
from tests.integrations.support import Copying, misbehaving, read_rows
from tests.integrations.transformers.models import Tokens, tiny_model, training_args


def _numbers(entry: dict) -> dict[str, float]:
    return {k: float(v) for k, v in entry.items()
            if k != "step" and isinstance(v, int | float) and not isinstance(v, bool)}


def test_every_log_reaches_csv_with_a_failing_and_a_slow_backend(tmp_path):
    raising, sleeping = misbehaving()
    callback = FanLogCallback(["csv", raising, sleeping])
    trainer = Trainer(model=tiny_model(), args=training_args(tmp_path / "out"),
                      train_dataset=Tokens(), callbacks=[callback])
    trainer.train()

    history = trainer.state.log_history
    assert len(history) == 9  # 8 steps (2 epochs x 4 batches) and the closing summary
    rows = read_rows(Path(callback.place(trainer.args).log_dir) / "metrics.csv")
    assert [step for step, _ in rows] == [entry["step"] for entry in history]
    for (_, row), entry in zip(rows, history, strict=True):
        expected = _numbers(entry)
        assert row.keys() == expected.keys()
        assert all(math.isclose(row[k], v, rel_tol=1e-12) for k, v in expected.items())
    assert [step for step, _ in sleeping.metrics] == [entry["step"] for entry in history]
    summary = callback.summary
    assert summary.status == "success"
    assert summary.backends["raising"].state == "failed"
    assert summary.backends["csv"].lost == 0 and summary.backends["sleeping"].lost == 0


def test_hyperparameters_are_the_arguments_over_the_model_config(tmp_path):
    callback = FanLogCallback(["csv"], save_dir=tmp_path / "runs", name="gpt")
    args = training_args(tmp_path / "out", max_steps=2, save_strategy="no")
    Trainer(model=tiny_model(), args=args, train_dataset=Tokens(),
            callbacks=[callback]).train()
    log_dir = tmp_path / "runs" / "gpt" / "version_0"
    assert callback.place(args).log_dir == str(log_dir)
    params = yaml.safe_load((log_dir / "hparams.yaml").read_text())
    assert params["learning_rate"] == 1e-3 and params["max_steps"] == 2  # the arguments
    assert params["n_embd"] == 16 and params["model_type"] == "gpt2"  # the model's config
    assert params["output_dir"] == str(tmp_path / "out")


def test_checkpoints_are_sent_and_the_run_ends(tmp_path):
    recorder = RecordingLogger()
    callback = FanLogCallback([recorder])
    Trainer(model=tiny_model(), args=training_args(tmp_path / "out"), train_dataset=Tokens(),
            callbacks=[callback]).train()
    sent = recorder.of("log_artifact")
    assert [a["name"] for a in sent] == ["checkpoint-4", "checkpoint-8"]
    assert [a["metadata"] for a in sent] == [{"kind": "checkpoint", "step": 4},
                                            {"kind": "checkpoint", "step": 8}]
    assert recorder.finalized == [Status.SUCCESS]
    assert recorder.of("log_hyperparams")  # once, at the start
    assert [kw["step"] for kw in recorder.of("log_metrics")][:2] == [1, 2]


def test_a_backend_behind_its_queue_still_gets_the_rotated_checkpoints(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    copying = Copying(store)

    class OpenGateAtTheEnd(TrainerCallback):
        def on_train_end(self, args, state, control, **kwargs):
            copying.gate.set()

    callback = FanLogCallback([copying])
    args = training_args(tmp_path / "out", save_steps=2, save_total_limit=1)
    Trainer(model=tiny_model(), args=args, train_dataset=Tokens(),
            callbacks=[OpenGateAtTheEnd(), callback]).train()
    assert sorted(p.name for p in (tmp_path / "out").glob("checkpoint-*")) == ["checkpoint-8"]
    assert copying.stored == ["checkpoint-2", "checkpoint-4", "checkpoint-6", "checkpoint-8"]
    for name in copying.stored:
        assert (store / name / "model.safetensors").stat().st_size > 0
    assert not (tmp_path / "out" / ".fanlog-staged").exists()


def test_a_non_number_is_reported_once_and_left_out(tmp_path):
    recorder = RecordingLogger()
    callback = FanLogCallback([recorder])
    args = training_args(tmp_path / "out")
    state = type("State", (), {"is_world_process_zero": True, "global_step": 3})()
    with pytest.warns(RuntimeWarning, match="'shape' is a list"):
        callback.on_log(args, state, None, logs={"loss": 0.5, "shape": [1, 2], "note": "hi"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per name
        callback.on_log(args, state, None, logs={"shape": [1, 2]})
    callback.on_train_end(args, state, None)
    assert recorder.metrics == [(3, {"loss": 0.5})]
    assert recorder.of("log_text") == [{"key": "note", "text": "hi", "step": 3}]
