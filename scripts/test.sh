#!/usr/bin/env bash
# Set up and run every test, on a machine with only Python 3.11: lint, then each install
# shape (core alone, each plugin alone, all together) in its own tox environment, built by
# uv (tox-uv). torch is pinned through constraints.txt for pip and uv alike; a local wheel
# folder that pip is configured with (find-links) is handed to uv too.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_CONSTRAINT="$PWD/constraints.txt" UV_CONSTRAINT="$PWD/constraints.txt"
export PIP_DISABLE_PIP_VERSION_CHECK=1
python3 -m venv .venv-tools
.venv-tools/bin/python -m pip install --quiet "tox>=4.11,<5" "tox-uv>=1.11,<2"
links=${PIP_FIND_LINKS:-$(.venv-tools/bin/python -m pip config get global.find-links 2>/dev/null || true)}
[ -n "$links" ] && export UV_FIND_LINKS="${UV_FIND_LINKS:-$links}"
exec .venv-tools/bin/tox run "$@"
