#!/usr/bin/env bash
# Runs the backend-agnostic tests on Keras' torch backend, in a virtual environment
# of its own. Not part of CI: a torch wheel with its CUDA libraries is about 5 GB, so
# this script installs a CPU-only wheel and a developer runs it and records the result
# in README.md ("Tested versions and backends").
#
#   TORCH_VENV   where to create the environment (default /work/venvs/torch)
#   TORCH_WHEEL  a CPU-only torch wheel file, or a requirement that resolves to one
#                (default: /opt/wheels/torch-2.13.0+cpu-*.whl if present). Never let pip
#                resolve plain `torch` from PyPI on Linux: that is the CUDA build.
#   PYTEST_ARGS  extra pytest arguments (default "-n 2")
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${TORCH_VENV:-/work/venvs/torch}"
wheel="${TORCH_WHEEL:-}"
if [ -z "$wheel" ]; then
    for candidate in /opt/wheels/torch-2.13.0+cpu-*.whl; do
        [ -e "$candidate" ] && wheel="$candidate"
    done
fi
if [ -z "$wheel" ]; then
    echo "Set TORCH_WHEEL to a CPU-only torch 2.13.0 wheel (file or requirement)." >&2
    exit 2
fi

start=$(date +%s)
python3 -m venv "$venv"
. "$venv/bin/activate"
python -m pip install --quiet --upgrade pip
# One resolution: the CPU wheel satisfies `torch` for anything that asks for it.
pip install --quiet "$wheel" -e ".[test]"
python -c "import torch, keras; print('torch', torch.__version__, 'keras', keras.__version__, 'cuda', torch.version.cuda)"
installed=$(date +%s)
echo "install: $((installed - start)) s"

# shellcheck disable=SC2086
KERAS_BACKEND=torch pytest ${PYTEST_ARGS:--n 2} -m backend_agnostic -p no:cacheprovider
echo "tests: $(( $(date +%s) - installed )) s"
