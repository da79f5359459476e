#!/usr/bin/env bash
# The examples without TensorFlow: experiments 1 and 2 at --smoke scale under KERAS_BACKEND=jax,
# in a fresh virtual environment that has keras, jax, numpy and matplotlib but no tensorflow
# (the GPU machines lent to this project have JAX and no TensorFlow). Fashion-MNIST is read from
# Keras' cache (~/.keras/datasets/fashion-mnist) with NumPy; without it, --synthetic images.
#
#   .ci/smoke_without_tf.sh            # about 5-8 minutes on 2 cores, most of it pip and XLA
#
# NOTF_VENV names the environment's folder (default: a new temporary one, removed at the end;
# the jax stage of .ci/run passes its .venv-jax); PYTHON the interpreter that creates it.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
export KERAS_BACKEND=jax
PYTHON=${PYTHON:-python3}
created=""
if [ -z "${NOTF_VENV:-}" ]; then
    NOTF_VENV=$(mktemp -d)/venv
    created=$(dirname "$NOTF_VENV")
fi
out=$(mktemp -d)
trap 'rm -rf "$out" ${created:+"$created"}' EXIT

[ -x "$NOTF_VENV/bin/python" ] || "$PYTHON" -m venv "$NOTF_VENV"
pip=("$NOTF_VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" "keras>=3.5" "jax[cpu]" numpy matplotlib
"${pip[@]}" .   # tf_lropt itself, which must not bring TensorFlow (checked below)
py="$(cd "$NOTF_VENV" && pwd)/bin/python"  # absolute: the scripts run from another folder

if "$py" -c "import tensorflow" 2>/dev/null; then
    echo "FAIL: tensorflow is importable in $NOTF_VENV; this check needs an environment without it"
    exit 1
fi
echo "import tensorflow fails in $NOTF_VENV, as intended:"
"$py" -c "import tensorflow" 2>&1 | tail -1 || true
"$py" -c "import jax, keras, tf_lropt; print('keras', keras.__version__, 'jax', jax.__version__)"

data=()
[ -f "$HOME/.keras/datasets/fashion-mnist/train-images-idx3-ubyte.gz" ] || data=(--synthetic)
for script in exp1_warmup_adabound exp2_robust_ablation; do
    # Run from outside the checkout so that tf_lropt comes from the environment, and fail if
    # anything imported TensorFlow on the way.
    (cd "$out" && "$py" - "$OLDPWD/examples/$script.py" --smoke \
        --results-dir "$out/results" "${data[@]}" <<'PY'
import runpy, sys, os
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(script))
runpy.run_path(script, run_name="__main__")
assert "tensorflow" not in sys.modules, "something imported tensorflow"
import keras
assert keras.backend.backend() == "jax"
PY
    )
    table=$(ls "$out"/results/"$script"_*/table.md)
    grep -q "jax backend" "$table" || { echo "FAIL: $table does not say jax backend"; exit 1; }
done
echo "smoke without TensorFlow passed in $(( $(date +%s) - start )) s"
