#!/usr/bin/env bash
# Set up and run every test, on a machine with only Python 3.11: lint, then each install
# shape (core alone, each plugin alone, all together) in its own tox environment.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_CONSTRAINT="$PWD/constraints.txt" PIP_DISABLE_PIP_VERSION_CHECK=1
python3 -m venv .venv-tools
.venv-tools/bin/python -m pip install --quiet "tox>=4.11,<5"
exec .venv-tools/bin/tox run "$@"
