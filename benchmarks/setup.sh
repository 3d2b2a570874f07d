#!/usr/bin/env bash
# The benchmark environment, .venv-bench/ at the repository root: fanlog core and every
# first-party plugin (editable), the systems compared against (Lightning; Accelerate and
# MMEngine when they install), and what the suite itself uses. torch is pinned through
# constraints.txt (the local CPU wheel), so the suite measures the same stack every time.
#   bash benchmarks/setup.sh && .venv-bench/bin/python benchmarks/run.py
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_CONSTRAINT="$PWD/constraints.txt" PIP_DISABLE_PIP_VERSION_CHECK=1
VENV=.venv-bench
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --quiet -c constraints.txt)
packages=(torch -e core)
for plugin in plugins/fanlog-*/; do
    packages+=(-e "${plugin%/}")
done
"${pip[@]}" "${packages[@]}" lightning tensorboard matplotlib psutil
# Further references and profilers: a case whose system is missing says so and skips.
for optional in accelerate mmengine pyinstrument py-spy; do
    "${pip[@]}" "$optional" || echo "setup.sh: $optional did not install; its case skips" >&2
done
"$VENV/bin/python" -m pip list --format=freeze > "$VENV/freeze.txt"
echo "benchmark environment ready: $VENV ($(wc -l < "$VENV/freeze.txt") packages)"
