"""Test-session set-up shared by every test module.

Two logical CPU devices are created before TensorFlow initialises its runtime so
that ``tf.distribute.MirroredStrategy`` can be tested on a machine without GPUs.
Under a Keras backend other than TensorFlow only tests marked
``backend_agnostic`` run.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()

if BACKEND == "tensorflow":
    import tensorflow as tf

    _cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )


def pytest_collection_modifyitems(config, items):
    if BACKEND == "tensorflow":
        return
    skip = pytest.mark.skip(reason=f"TensorFlow-only test; backend is {BACKEND}")
    for item in items:
        if "backend_agnostic" not in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts from the same seed and a clean global policy."""
    keras.utils.set_random_seed(1234)
    np.random.seed(1234)
    yield
    keras.mixed_precision.set_global_policy("float32")
    # Garbage collection after every test would cost ~0.5 s each; Keras' own state is
    # still reset, and the process's memory is reclaimed when the worker ends.
    keras.backend.clear_session(free_memory=False)
