"""fanlog.backend: the prefix rule and the one log_model
policy, driven by a real fit whose ModelCheckpoint rotates files out."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanlog.backend import (
    PREFIX_SEPARATOR,
    CheckpointUploads,
    add_prefix,
    check_log_model,
    prefixed,
)
from fanlog.testing.checkpoints import fit_with_checkpoints


def test_prefix_rule():
    metrics = {"loss": 1.0, "val/acc": 0.5}
    assert add_prefix(metrics, "p") == {"p-loss": 1.0, "p-val/acc": 0.5}
    assert add_prefix(metrics, "") is metrics  # no copy without a prefix
    assert prefixed("loss", "training", "/") == "training/loss"
    assert PREFIX_SEPARATOR == "-"  # Lightning's LOGGER_JOIN_CHAR: tests/integration compares


@pytest.mark.parametrize("bad", ["best", 1, None, "ALL"])
def test_log_model_values(bad):
    assert [check_log_model(v) for v in (False, True, "all")] == [False, True, "all"]
    with pytest.raises(ValueError, match="log_model must be False, True or 'all'"):
        check_log_model(bad)


class Store:
    """A remote store kept in memory: what a backend's upload/delete/mark_best would do."""

    def __init__(self, log_model):
        self.files: dict[str, bytes] = {}
        self.best: tuple[str, float] | None = None
        self.policy = CheckpointUploads(log_model, self.upload, self.delete, self.mark_best)

    def upload(self, path, name, metadata):
        self.files[name] = Path(path).read_bytes()
        return name

    def delete(self, name):
        del self.files[name]

    def mark_best(self, name, metadata):
        self.best = name, metadata["best_score"]

    def log_artifact(self, path, name, metadata):
        self.policy.saved(path, name, metadata)

    def finalize(self, status):
        self.policy.finish(status.value == "success")


@pytest.mark.parametrize(("log_model", "kept"), [
    (False, []), (True, ["epoch=1-step=4.ckpt"]), ("all", ["epoch=1-step=4.ckpt"])])
def test_policy_through_a_real_fit(tmp_path, log_model, kept):
    store = Store(log_model)
    checkpoint = fit_with_checkpoints(store, tmp_path)
    assert sorted(store.files) == kept  # epoch 0's file was rotated out, and deleted remotely
    if kept:
        assert store.best == ("epoch=1-step=4.ckpt", 1.0)
        assert store.files[kept[0]] == Path(checkpoint.best_model_path).read_bytes()
    else:
        assert store.best is None
