"""Each tox environment installs one shape (core alone, one plugin, everything) and proves
that exactly those loggers, and no other backend SDK, are installed, that every expected
logger really loads (a plugin that raises on import fails here instead of skipping its own
tests), and that the torch pin held (no CUDA build, no nvidia-* packages)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os

import pytest

from fanlog.plugins import GROUP, discover

EXPECTED = os.environ.get("TOX_EXPECT_LOGGERS")
SDKS = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb",
        "comet": "comet_ml", "neptune": "neptune"}

pytestmark = pytest.mark.skipif(EXPECTED is None,
                                reason="run by tox, which sets TOX_EXPECT_LOGGERS")


def test_exactly_the_expected_loggers_are_installed():
    assert discover().names() == sorted(EXPECTED.split(","))


@pytest.mark.parametrize("name", sorted(SDKS))
def test_sdks_of_absent_plugins_are_not_installed(name):
    if name in EXPECTED.split(","):
        assert importlib.util.find_spec(SDKS[name]) is not None
    else:
        assert importlib.util.find_spec(SDKS[name]) is None, f"{SDKS[name]} is installed"


def test_every_expected_logger_loads():
    loaded = {ep.name: ep.load() for ep in importlib.metadata.entry_points(group=GROUP)
              if ep.name in EXPECTED.split(",")}
    assert sorted(loaded) == sorted(EXPECTED.split(","))
    assert all(isinstance(cls, type) for cls in loaded.values())


def test_the_torch_pin_held():
    version = importlib.metadata.version("torch")
    assert version.split("+")[0] == _pinned("torch")
    nvidia = sorted(d.metadata["Name"] for d in importlib.metadata.distributions()
                    if (d.metadata["Name"] or "").lower().startswith("nvidia-"))
    assert nvidia == [], f"CUDA packages were installed: {nvidia}"


def _pinned(name: str) -> str:
    path = os.path.join(os.path.dirname(__file__), os.pardir, "constraints.txt")
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.split("#")[0].strip().startswith(f"{name}=="):
                return line.split("==")[1].split("#")[0].strip()
    raise AssertionError(f"{name} is not pinned in constraints.txt")
