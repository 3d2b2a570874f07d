"""Options as Lightning's TensorBoardLogger has them, checked in the constructor; folders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tensorboard  # noqa: F401  (collected first, as the SDK wants)
from fanlog_tensorboard import TensorBoardLogger


def test_constructor_imports_no_sdk_and_touches_no_disk(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from fanlog_tensorboard import TensorBoardLogger\n"
        f"lg = TensorBoardLogger(save_dir={str(tmp_path / 'logs')!r}, version=None)\n"
        "print(sorted({'torch', 'tensorboard'} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize(("options", "error", "match"), [
    ({"version": -1}, ValueError, "version"),
    ({"version": True}, TypeError, "version"),
    ({"version": 1.5}, TypeError, "version"),
    ({"version": ""}, ValueError, "version"),
    ({"flush_secs": 0}, ValueError, "flush_secs"),
    ({"flush_secs": "5"}, TypeError, "flush_secs"),
    ({"default_hp_metric": "yes"}, TypeError, "default_hp_metric"),
    ({"log_graph": 1}, TypeError, "log_graph"),
    ({"prefix": 3}, TypeError, "prefix"),
])
def test_bad_options_fail_at_once(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        TensorBoardLogger(**options)


def test_log_dir_layout(tmp_path: Path) -> None:
    lg = TensorBoardLogger(save_dir=tmp_path, name="exp", version=7, sub_dir="train")
    assert lg.root_dir == str(tmp_path / "exp")
    assert lg.log_dir == str(tmp_path / "exp" / "version_7" / "train")
    assert TensorBoardLogger(save_dir=tmp_path, name="exp", version="run-a").log_dir == str(
        tmp_path / "exp" / "run-a")
    assert TensorBoardLogger(save_dir=tmp_path, name="", version=0).log_dir == str(
        tmp_path / "version_0")
    assert TensorBoardLogger(save_dir=tmp_path, name=None, version=0).root_dir == str(tmp_path)


def test_default_save_dir_and_home_expansion(tmp_path: Path) -> None:
    assert TensorBoardLogger(version=0).log_dir == str(Path("fanlog_logs", "fanlog", "version_0"))
    lg = TensorBoardLogger(save_dir="~/tb", version=0)
    assert lg.log_dir == str(tmp_path / "home" / "tb" / "fanlog" / "version_0")


def test_next_free_version_is_claimed(tmp_path: Path) -> None:
    root = tmp_path / "fanlog"
    for folder in ("version_0", "version_3", "version_x", "other"):
        (root / folder).mkdir(parents=True)
    first = TensorBoardLogger(save_dir=tmp_path)
    second = TensorBoardLogger(save_dir=tmp_path)
    assert first.version == 4
    assert (root / "version_4").is_dir()  # claimed at once: the next logger moves on
    assert second.version == 5
    assert first.log_dir == str(root / "version_4")


def test_events_go_to_log_dir(logger: TensorBoardLogger) -> None:
    from torch.utils.tensorboard import SummaryWriter

    logger.log_metrics({"x": 1.0}, 0)
    writer = logger.experiment
    assert isinstance(writer, SummaryWriter)
    assert writer.log_dir == logger.log_dir
    assert [p.name.startswith("events.out.tfevents.") for p in Path(logger.log_dir).iterdir()] \
        == [True]
