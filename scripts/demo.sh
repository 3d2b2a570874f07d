#!/usr/bin/env bash
# Set up a virtual environment with fanlog and its first-party TensorBoard and MLflow
# plugins, then run the main job: a small model trained with fan-out logging to the
# embedded defaults (console, CSV, TensorBoard, MLflow on SQLite) under ./runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_CONSTRAINT="$PWD/constraints.txt" PIP_DISABLE_PIP_VERSION_CHECK=1
python3 -m venv .venv
packages=(-e core)
for plugin in tensorboard mlflow; do
    [ -d "plugins/fanlog-$plugin" ] && packages+=(-e "plugins/fanlog-$plugin")
done
.venv/bin/python -m pip install --quiet "${packages[@]}"
exec .venv/bin/fanlog demo --save-dir runs "$@"
