"""Shared code of the example scripts: data, models, one training loop, results and plots.

The scripts in ``examples/`` do ``from _harness import ...`` (Python puts a script's folder first
on ``sys.path``). Importing this package first silences TensorFlow's start-up logging (CUDA
probing, oneDNN notices), which must happen before TensorFlow is imported: every script imports
``_harness`` before ``keras``.
"""

import os

# Before any import of TensorFlow (Keras imports it on the TensorFlow backend): level 3 keeps
# only fatal messages, so a CPU machine shows no "failed call to cuInit" lines.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# oneDNN stays on: its convolutions halve a CPU step (measured in docs/benchmarks.md); its
# start-up notice is an INFO line, which level 3 hides.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")



def _import_backend_quietly() -> None:
    """Imports Keras (and TensorFlow on its backend, which then probes for GPUs) with the
    process's stderr pointed at /dev/null: the XLA/absl C++ start-up lines ("Could not find cuda
    drivers", "All log messages before absl::InitializeLog()") ignore TF_CPP_MIN_LOG_LEVEL.
    Python errors still surface: they are raised, and printed after stderr is back."""
    import sys

    if "keras" in sys.modules or os.environ.get("TF_LROPT_EXAMPLES_VERBOSE"):
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # the CUDA probe, done here once
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_backend_quietly()

from _harness import data, models  # noqa: E402, F401
