"""What Lightning's MLFlowLogger offers, read back with MlflowClient: the synchronous option,
the tags it sets, checkpoint folders with metadata (through a real fit with a rotating
ModelCheckpoint), images stored once across a resume, and names cleaned only where MLflow
refuses them, never two onto one."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from fanlog_mlflow.names import MEDIA_BAD, NAME_BAD, KeyCleaner, clean_key

from fanlog.testing.checkpoints import fit_with_checkpoints
from tests.plugins.mlflow.test_mlflow_logging import artifacts, history


def test_distinct_names_stay_distinct_and_valid_ones_unchanged(make_logger, client):
    """``损失`` and ``精度`` both became ``__``, ``acc@1`` and ``acc#1`` both ``acc_1``."""
    logger = make_logger()
    names = {"损失": 1.0, "精度": 2.0, "ünï": 3.0, "a:b": 4.0, "acc@1": 5.0, "acc#1": 6.0}
    with pytest.warns(UserWarning) as said:
        logger.log_metrics(names, 0)
        logger.log_metrics(names, 1)
    stored = client.get_run(logger.run_id).data.metrics
    assert stored == {"损失": 1.0, "精度": 2.0, "ünï": 3.0, "a:b": 4.0, "acc_1": 5.0,
                      "acc_1_2": 6.0}
    assert history(client, logger.run_id, "acc_1_2") == [(0, 6.0), (1, 6.0)]
    messages = sorted(str(w.message) for w in said)
    assert messages == [
        "fanlog-mlflow: MLflow does not accept the name 'acc#1'; logging it as 'acc_1_2' "
        "('acc_1' is another name's)",
        "fanlog-mlflow: MLflow does not accept the name 'acc@1'; logging it as 'acc_1'"]
    assert logger.state_dict()["renamed"] == {"acc@1": "acc_1", "acc#1": "acc_1_2"}


def test_a_valid_name_keeps_itself_when_a_cleaned_one_would_take_it():
    keys = KeyCleaner()
    with pytest.warns(UserWarning, match="'acc@1'; logging it as 'acc_1_2'"):
        assert keys.many(["acc@1", "acc_1"]) == ["acc_1_2", "acc_1"]


CHARACTERS = [chr(c) for c in range(32, 127)] + ["损", "ü", "é", "\N{EARTH GLOBE ASIA-AUSTRALIA}",
                                                  "\t", "\n", "\u00a0"]


@pytest.mark.parametrize("char", CHARACTERS)
def test_the_copied_rules_are_mlflows(char):
    from mlflow.utils.validation import path_not_unique, validate_param_and_metric_name

    name = f"a{char}b"
    assert (NAME_BAD.search(name) is None) == bool(validate_param_and_metric_name(name))
    assert (MEDIA_BAD.search(name) is None) == bool(re.match(r"^[a-zA-Z0-9_\-./ ]+$", name))
    cleaned = clean_key(name)
    assert validate_param_and_metric_name(cleaned) and not path_not_unique(cleaned)
    if validate_param_and_metric_name(name) and not path_not_unique(name):
        assert cleaned == name  # only what MLflow refuses is changed


def test_synchronous_false_logs_in_the_background_and_save_waits(make_logger, client):
    logger = make_logger(synchronous=False)
    for step in range(5):
        logger.log_metrics({"loss": 1.0 / (step + 1)}, step)
    assert logger._pending, "synchronous=False must use MLflow's async logging"
    logger.save()
    assert history(client, logger.run_id, "loss") == [(s, 1.0 / (s + 1)) for s in range(5)]
    with pytest.raises(TypeError, match="synchronous"):
        make_logger(synchronous="yes")


def test_new_run_gets_lightnings_tags(make_logger, client):
    from mlflow.tracking.context.registry import resolve_tags

    logger = make_logger(tags={"team": "vision"})
    logger.log_metrics({"x": 1.0}, 0)
    tags = client.get_run(logger.run_id).data.tags
    expected = resolve_tags({"team": "vision"})  # what Lightning's MLFlowLogger passes
    for key in ("mlflow.user", "mlflow.source.name", "mlflow.source.type", "team"):
        assert tags[key] == expected[key]


@pytest.mark.parametrize("log_model", [True, "all"])
def test_checkpoint_folders_through_a_fit(make_logger, client, tmp_path, log_model):
    logger = make_logger(log_model=log_model)
    checkpoint = fit_with_checkpoints(logger, tmp_path / "root")
    # epoch 0's checkpoint was rotated out: with "all" uploaded, then deleted
    folder = "checkpoints/epoch=1-step=4"
    assert artifacts(client, logger.run_id, "checkpoints") == [
        f"{folder}/aliases.txt", f"{folder}/epoch=1-step=4.ckpt", f"{folder}/metadata.yaml"]
    local = Path(client.download_artifacts(logger.run_id, folder, str(tmp_path / "dl")))
    assert (local / "epoch=1-step=4.ckpt").read_bytes() == \
        Path(checkpoint.best_model_path).read_bytes()
    assert (local / "aliases.txt").read_text() == "['latest', 'best']"
    metadata = yaml.safe_load((local / "metadata.yaml").read_text())
    assert metadata["score"] == 1.0 and metadata["original_filename"] == "epoch=1-step=4.ckpt"
    assert metadata["Checkpoint"]["monitor"] == "score"
    tags = client.get_run(logger.run_id).data.tags
    assert (tags["best_checkpoint"], tags["best_checkpoint_score"]) == (folder, "1.0")


def test_images_are_not_stored_twice_after_a_resume(make_logger, client):
    image = np.zeros((4, 4, 3), np.uint8)
    first = make_logger()
    for step in range(3):
        first.log_metrics({"loss": float(step)}, step)
        first.log_image("sample", image, step, "HWC")
    state = first.state_dict()
    state["step"] = 1  # the checkpoint was at step 1; step 2 was stored after it
    first.finalize("failed")
    second = make_logger(run_id=None)
    second.load_state_dict(state)
    for step in range(1, 4):  # the resumed fit logs steps 1 and 2 again
        second.log_metrics({"loss": float(step)}, step)
        second.log_image("sample", image, step, "HWC")
    second.finalize("success")
    files = [p for p in artifacts(client, state["run_id"], "images") if p.endswith(".png")]
    steps = sorted(int(re.search(r"\+step\+(\d+)\+", p).group(1)) for p in files)
    assert steps == [0, 1, 2, 3]
