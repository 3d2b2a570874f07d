"""Side by side with the installed Lightning 2.6.6: the parity table of docs/backends/index.md
covers every option and public method of each of its loggers, and fanlog's prefix rule is
Lightning's ``_add_prefix``."""

from __future__ import annotations

import inspect
import re

import pytest
from pytorch_lightning import loggers as lightning
from pytorch_lightning.loggers.neptune import NeptuneLogger

from fanlog.backend import PREFIX_SEPARATOR, add_prefix
from tests.core.test_docs_parity import parity_rows

LOGGERS = [lightning.CSVLogger, lightning.TensorBoardLogger, lightning.WandbLogger,
           lightning.MLFlowLogger, lightning.CometLogger, NeptuneLogger]


def _surface(cls: type) -> set[str]:
    """Options and public members, as the table names them (``**kwargs``, ``*args``)."""
    options = {("**" if p.kind is p.VAR_KEYWORD else "*" if p.kind is p.VAR_POSITIONAL else "")
               + name for name, p in inspect.signature(cls.__init__).parameters.items()
               if name != "self"}
    members = {n for n, _ in inspect.getmembers(cls)
               if not n.startswith("_") and n != "LOGGER_JOIN_CHAR"}
    return options | members


@pytest.mark.parametrize("cls", LOGGERS, ids=lambda c: c.__name__)
def test_the_table_covers_every_option_and_method(cls):
    named = set()
    for logger, item, _, _ in parity_rows():
        if logger == cls.__name__:
            named |= {name.split("(")[0] for name in re.findall(r"`([^`]+)`", item)}
    missing = {name for name in _surface(cls)
               if name not in named and name.lstrip("*") not in named}
    assert not missing, f"{cls.__name__}: not in docs/backends/index.md: {sorted(missing)}"


def test_prefix_rule_is_lightnings():
    from lightning_fabric.utilities.logger import _add_prefix

    for cls in LOGGERS[:5]:
        assert getattr(cls, "LOGGER_JOIN_CHAR", PREFIX_SEPARATOR) == PREFIX_SEPARATOR
    metrics = {"loss": 1.0, "val/acc": 0.5}
    for prefix in ("", "p", "train/"):
        assert add_prefix(metrics, prefix) == _add_prefix(metrics, prefix, PREFIX_SEPARATOR)
