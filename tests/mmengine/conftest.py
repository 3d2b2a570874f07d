"""The differential tests need MMEngine 0.10.7 (tox env ``mmengine``). Elsewhere, a
plain ``pytest`` run without it leaves this folder out; inside that env a missing or
different MMEngine fails."""

from __future__ import annotations

import importlib.util
import os

if importlib.util.find_spec("mmengine") is None and os.environ.get("TOX_ENV_NAME") != "mmengine":
    collect_ignore_glob = ["*.py"]
