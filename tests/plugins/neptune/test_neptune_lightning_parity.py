"""Lightning's NeptuneLogger behaviour (its last version, before 2.6 retired it): the one
log_model policy through a real fit (rotated-out checkpoints removed from the run, the best
one's path and score recorded), read back by replaying the offline store; and the offline
"new run on resume" warning on the terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fanlog_neptune import NeptuneLogger

from fanlog.testing.checkpoints import fit_with_checkpoints
from tests.plugins.neptune.neptune_support import only_run

CHECKPOINTS = "training/model/checkpoints"


@pytest.mark.parametrize(("log_model", "kept"), [
    (False, []), (True, ["epoch=1-step=4"]), ("all", ["epoch=1-step=4"])])
def test_log_model_policy_through_a_fit(tmp_path, data_dir, log_model, kept):
    logger = NeptuneLogger(mode="offline", log_model=log_model)
    checkpoint = fit_with_checkpoints(logger, tmp_path / "root")
    replayed = only_run(data_dir, tmp_path / "replay")
    stored = sorted({p[len(CHECKPOINTS) + 1:].split("/")[0] for p in replayed.paths()
                     if p.startswith(CHECKPOINTS + "/")})
    assert stored == kept  # with "all", epoch 0's was uploaded, then deleted when rotated out
    if log_model == "all":
        assert [type(op).__name__ for op in replayed.operations
                if op.path[:4] == [*CHECKPOINTS.split("/"), "epoch=0-step=2"]][-1] == \
            "DeleteAttribute"
    if kept:
        assert replayed.file(f"{CHECKPOINTS}/{kept[0]}/file") == \
            Path(checkpoint.best_model_path).read_bytes()
        assert replayed.value("training/model/best_model_path") == checkpoint.best_model_path
        assert replayed.value("training/model/best_model_score") == 1.0
    else:
        assert "training/model/best_model_path" not in replayed.paths()


def test_log_model_checkpoints_is_the_older_name():
    assert NeptuneLogger(mode="offline", log_model_checkpoints=True).log_model == "all"
    assert NeptuneLogger(mode="offline", log_model_checkpoints=False).log_model is False
    assert NeptuneLogger(mode="offline").log_model is False  # off by default, as elsewhere
    with pytest.raises(ValueError, match="disagree"):
        NeptuneLogger(mode="offline", log_model=True, log_model_checkpoints=True)


def test_offline_resume_warning_reaches_the_terminal(tmp_path):
    """It went to the ``fanlog.neptune`` logger only, which the trainer writes to run.log."""
    state = {"run_id": None, "mode": "offline", "step": 9, "offline_dirs": []}
    code = ("import json, sys; from fanlog_neptune import NeptuneLogger; "
            f"NeptuneLogger(mode='offline').load_state_dict(json.loads({json.dumps(state)!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path, timeout=60)
    assert "goes on in a new run, from step 9 on" in out.stderr
