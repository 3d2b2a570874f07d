"""What each hook writes, read back with MLflow's own client from a SQLite store."""

from __future__ import annotations

import math
from pathlib import Path

import mlflow  # noqa: F401  (collected first, as the SDK wants)
import numpy as np
import pytest


def history(client, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def artifacts(client, run_id: str, path: str | None = None) -> list[str]:
    """Every artifact file under ``path``, recursively."""
    found = []
    for info in client.list_artifacts(run_id, path):
        found += artifacts(client, run_id, info.path) if info.is_dir else [info.path]
    return sorted(found)


def test_metrics_one_batch_per_step_with_prefix_nan_and_inf(make_logger, client):
    logger = make_logger(prefix="train")
    for step in range(3):
        logger.log_metrics({"loss": 1.0 / (step + 1), "acc": step / 10}, step)
    logger.log_metrics({"loss": math.nan, "big": math.inf}, 3)

    assert history(client, logger.run_id, "train-acc") == [(0, 0.0), (1, 0.1), (2, 0.2)]
    loss = history(client, logger.run_id, "train-loss")
    assert loss[:3] == [(0, 1.0), (1, 0.5), (2, 1 / 3)]
    assert loss[3][0] == 3 and math.isnan(loss[3][1])
    # MLflow stores infinities as the largest float
    assert history(client, logger.run_id, "train-big") == [(3, np.finfo(float).max)]
    assert logger.state_dict()["step"] == 3


def test_names_mlflow_refuses_are_cleaned_with_one_warning(make_logger, client):
    logger = make_logger()
    with pytest.warns(UserWarning, match="'val//acc@1'") as record:
        logger.log_metrics({"val//acc@1": 0.5, "ok": 1.0}, 0)
        logger.log_metrics({"val//acc@1": 0.6, "ok": 2.0}, 1)
    assert len(record) == 1
    assert history(client, logger.run_id, "val/acc_1") == [(0, 0.5), (1, 0.6)]
    assert history(client, logger.run_id, "ok") == [(0, 1.0), (1, 2.0)]


def test_params_are_flattened_truncated_and_never_changed(make_logger, client):
    logger = make_logger()
    with pytest.warns(UserWarning, match="truncated"):
        logger.log_hyperparams({"opt": {"lr": 0.1, "betas": [0.9, 0.99]}, "note": "x" * 7000,
                                "seed": None, "flag": True})
    logger.log_hyperparams({"opt": {"lr": 0.1}, "epochs": 3})  # same value again: fine
    with pytest.warns(UserWarning, match=r"cannot change.*'opt/lr'"):
        logger.log_hyperparams({"opt": {"lr": 0.5}, "batch": 32})

    params = client.get_run(logger.run_id).data.params
    assert params == {"opt/lr": "0.1", "opt/betas": "[0.9, 0.99]", "note": "x" * 6000,
                      "seed": "None", "flag": "True", "epochs": "3", "batch": "32"}


def test_many_params_in_one_call(make_logger, client):
    logger = make_logger()
    logger.log_hyperparams({f"p{i}": i for i in range(250)})  # MLflow takes 100 per request
    assert len(client.get_run(logger.run_id).data.params) == 250


def test_tags_and_run_name(make_logger, client):
    logger = make_logger(run_name="first", tags={"team": "vision", "long": "t" * 9000})
    with pytest.warns(UserWarning, match="truncated"):
        run = client.get_run(logger.run_id)
    assert run.info.run_name == "first"
    assert run.data.tags["team"] == "vision" and len(run.data.tags["long"]) == 8000


def test_text_images_and_figures_are_artifacts(make_logger, client, tmp_path):
    from PIL import Image

    logger = make_logger()
    logger.log_text("notes", "no step", None)
    logger.log_text("samples/pred", "at step 7", 7)
    logger.log_image("gray", np.linspace(0, 1, 12).reshape(3, 4), 2, "HW")
    logger.log_image("batch", np.zeros((4, 3, 8, 8), dtype=np.uint8), 5, "NCHW")
    run_id = logger.run_id

    files = artifacts(client, run_id)
    assert {"text/notes.txt", "text/samples/pred/step_000007.txt"} <= set(files)
    local = Path(client.download_artifacts(run_id, "text", str(tmp_path / "dl")))
    assert (local / "samples/pred/step_000007.txt").read_text() == "at step 7"
    # MLflow's image series: images/<key>+step+<step>+timestamp+<ms>+<uuid>.png (+ a .webp)
    pngs = {tuple(f.removeprefix("images/").split("+")[0:3:2]): f for f in files
            if f.startswith("images/") and f.endswith(".png")}
    assert set(pngs) == {("gray", "2"), ("batch", "5")}
    gray = client.download_artifacts(run_id, pngs["gray", "2"], str(tmp_path / "img"))
    assert np.asarray(Image.open(gray)).shape == (3, 4)
    batch = client.download_artifacts(run_id, pngs["batch", "5"], str(tmp_path / "img"))
    assert np.asarray(Image.open(batch)).shape == (18, 18, 3)  # a 2x2 grid, 2 px apart


def test_figures_are_png_artifacts(make_logger, client, tmp_path):
    import matplotlib.pyplot as plt
    logger = make_logger()
    figure = plt.figure()
    figure.gca().plot([0, 1], [1, 0])
    logger.log_figure("curves/roc", figure, 3)
    logger.log_figure("summary", figure, None)
    plt.close(figure)
    files = artifacts(client, logger.run_id, "figures")
    assert files == ["figures/curves/roc/step_000003.png", "figures/summary.png"]
    local = client.download_artifacts(logger.run_id, files[0], str(tmp_path / "dl"))
    assert Path(local).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _file(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_artifacts_keep_their_name_or_take_the_given_one(make_logger, client, tmp_path):
    logger = make_logger()
    report = _file(tmp_path / "out/report.md", "# report")
    _file(tmp_path / "out/dir/a.txt", "a")
    logger.log_artifact(report, None, {})
    logger.log_artifact(report, "reports/final.md", {})
    logger.log_artifact(str(tmp_path / "out/dir"), "folder", {})
    assert artifacts(client, logger.run_id) == ["folder/a.txt", "report.md", "reports/final.md"]
    # a database store has no artifact folder of its own: save_dir's, never ./mlruns
    artifact_uri = client.get_run(logger.run_id).info.artifact_uri
    assert artifact_uri == f"{(tmp_path / 'logs/mlartifacts').as_uri()}/{logger.run_id}/artifacts"
    local = client.download_artifacts(logger.run_id, "reports/final.md", str(tmp_path / "dl"))
    assert Path(local).read_text() == "# report"


def _checkpoints(logger, tmp_path: Path) -> list[str]:
    """Three checkpoints as a top-1 callback makes them: each new best replaces the last."""
    paths = []
    for step in (10, 20, 30):
        paths.append(_file(tmp_path / f"ckpt/step={step}.ckpt", f"weights {step}"))
        logger.log_artifact(paths[-1], None, {"kind": "checkpoint", "step": step})
        if step > 10:
            Path(paths[-2]).unlink()
    return paths


def test_log_model_false_ignores_checkpoints(make_logger, client, tmp_path):
    logger = make_logger()
    logger.log_metrics({"x": 1.0}, 0)
    _checkpoints(logger, tmp_path)
    logger.finalize("success")
    assert artifacts(client, logger.run_id) == []


def test_log_model_all_uploads_each_checkpoint_as_it_comes(make_logger, client, tmp_path):
    logger = make_logger(log_model="all")
    _checkpoints(logger, tmp_path)
    # Lightning's folder per checkpoint: the file, metadata.yaml and aliases.txt
    assert artifacts(client, logger.run_id) == sorted(
        f"checkpoints/step={s}/{f}" for s in (10, 20, 30)
        for f in ("aliases.txt", "metadata.yaml", f"step={s}.ckpt"))


def test_log_model_true_uploads_what_is_left_at_the_end(make_logger, client, tmp_path):
    logger = make_logger(log_model=True)
    _checkpoints(logger, tmp_path)
    logger.log_artifact(_file(tmp_path / "ckpt/x.ckpt", "last"), "last.ckpt",
                        {"kind": "checkpoint", "step": 30})
    logger.log_metrics({"x": 1.0}, 0)
    assert artifacts(client, logger.run_id) == []  # nothing before the end
    logger.finalize("success")
    assert artifacts(client, logger.run_id) == sorted(
        f"checkpoints/{s}/{f}" for s in ("last", "step=30")
        for f in ("aliases.txt", "metadata.yaml", f"{s}.ckpt"))
    local = client.download_artifacts(logger.run_id, "checkpoints/last/last.ckpt",
                                      str(tmp_path / "dl"))
    assert Path(local).read_text() == "last"
    assert client.get_run(logger.run_id).info.status == "FINISHED"
