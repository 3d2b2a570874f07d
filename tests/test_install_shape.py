"""Each tox environment installs one shape (core alone, one plugin, everything) and proves
that exactly those loggers, and no other backend SDK, are installed."""

from __future__ import annotations

import importlib.util
import os

import pytest

from fanlog.plugins import discover

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
