"""Lightning's CometLogger options (2.6 names and the older ones), the prefix rule, the epoch
field and the one log_model policy, read back from the offline archive comet_ml writes. The
conftest blocks the network: an offline request that went online fails every test here."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from fanlog_comet import CometLogger
from fanlog_comet.options import EXPERIMENT_OPTIONS

from fanlog.status import Status
from fanlog.testing.checkpoints import fit_with_checkpoints
from fanlog.testing.network import blocked_network
from tests.plugins.comet.comet_support import only_archive


def test_lightning_26_names_stay_offline(tmp_path):
    """``online=False`` used to pass through to comet_ml, which ignored it and went online."""
    with blocked_network() as attempts:
        logger = CometLogger(online=False, project="proj", name="run-a", mode="create",
                             offline_directory=tmp_path / "out", tags=["t1"])
        logger.log_metrics({"loss": 0.5}, 1)
        logger.finalize(Status.SUCCESS)
    assert attempts == []
    archive = only_archive(tmp_path / "out")
    assert archive.experiment["project_name"] == "proj"
    assert archive.others()["Name"] == "run-a"
    assert archive.metrics() == {"loss": [(1, 0.5)]}
    assert archive.experiment["tags"] == ["t1"]


@pytest.mark.parametrize(("options", "message"), [
    ({"online": True, "offline": True}, "contradict"),
    ({"project": "a", "project_name": "b"}, "name the same option"),
    ({"name": "a", "experiment_name": "b"}, "name the same option"),
    ({"mode": "sometimes"}, "mode must be one of"),
    ({"mode": "get"}, "pass its experiment_key"),
    ({"log_envdetails": True}, "unknown option 'log_envdetails'.*'log_env_details'"),
    ({"rest_api_key": "k"}, "'rest_api_key' is not used"),
    ({"log_model": "best"}, "log_model must be"),
])
def test_bad_options_fail_at_construction(options, message):
    with pytest.raises(ValueError, match=message):
        CometLogger(**options)


def test_known_options_are_the_sdks():
    """The copied list of comet_ml's experiment options matches the installed comet_ml."""
    import comet_ml

    own = {"self", "kwargs", "api_key", "project_name", "workspace", "experiment_key",
           "offline_directory"}
    sdk = set()
    for cls in (comet_ml.Experiment, comet_ml.OfflineExperiment):
        sdk |= set(inspect.signature(cls.__init__).parameters) - own
    assert sdk | {"tags"} == EXPERIMENT_OPTIONS
    assert "tags" in inspect.signature(comet_ml.ExperimentConfig.__init__).parameters


def test_prefix_joins_with_a_dash_and_epoch_goes_to_the_epoch_field(tmp_path):
    logger = CometLogger(offline=True, offline_directory=tmp_path / "out", prefix="p")
    logger.log_metrics({"loss": 0.5, "epoch": 3.0}, 7)
    logger.finalize(Status.SUCCESS)
    archive = only_archive(tmp_path / "out")
    assert archive.metrics() == {"p-loss": [(7, 0.5)]}  # was "ploss", and an "pepoch" metric
    (metric,) = [p["metric"] for p in archive.payloads("metric_msg")]
    assert metric["epoch"] == 3


@pytest.mark.parametrize(("log_model", "stored"), [
    (False, []), (True, ["epoch=1-step=4.ckpt"]),
    ("all", ["epoch=0-step=2.ckpt", "epoch=1-step=4.ckpt"])])
def test_log_model_policy_through_a_fit(tmp_path, log_model, stored):
    """Off by default (it uploaded every checkpoint, rotated-out ones too); comet_ml cannot
    delete a model of a running experiment, so with "all" the rotated-out one stays."""
    logger = CometLogger(offline=True, offline_directory=tmp_path / "out", log_model=log_model)
    checkpoint = fit_with_checkpoints(logger, tmp_path / "root")
    archive = only_archive(tmp_path / "out")
    uploads = archive.uploads("model-element")
    assert [p["additional_params"]["groupingName"] for p, _ in uploads] == stored
    if stored:
        payload, data = uploads[-1]
        assert data == Path(checkpoint.best_model_path).read_bytes()
        assert payload["metadata"]["best"] is True
        assert archive.others()["best_model_path"] == "epoch=1-step=4.ckpt"
        assert archive.others()["best_model_score"] == 1.0
    else:
        assert "best_model_path" not in archive.others()
