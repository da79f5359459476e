"""TensorFlow for the few features that need it, with one error message when it is missing.

The package requires only Keras and NumPy: Keras 3 runs on TensorFlow, JAX or torch, and
users often have a TensorFlow of their own (``tensorflow-cpu``, ``tensorflow-macos``, a
conda build) that a declared ``tensorflow`` requirement would replace. What only TensorFlow
does (the ``tf.data`` pipeline ``cifar_augment`` and ``RobustRecipe.augment``) imports it
through :func:`require_tensorflow`, whose error names the feature and the extra to install.
"""

from __future__ import annotations

from types import ModuleType

TENSORFLOW_EXTRA = 'pip install "tf-lropt[tensorflow]"'


def missing_tensorflow_message(feature: str) -> str:
    """The one message for a TensorFlow-only ``feature`` used without TensorFlow installed."""
    return (f"{feature} needs TensorFlow, which is not installed. Install it with "
            f"`{TENSORFLOW_EXTRA}` (or any TensorFlow >= 2.16 of your own: tensorflow, "
            "tensorflow-cpu, tensorflow-macos, ...). The rest of tf_lropt runs on any "
            "Keras backend without it.")


def require_tensorflow(feature: str) -> ModuleType:
    """Returns the ``tensorflow`` module, or raises ImportError naming ``feature`` and the
    ``[tensorflow]`` extra when TensorFlow is not installed."""
    try:
        import tensorflow
    except ModuleNotFoundError as error:
        if error.name != "tensorflow":  # TensorFlow is there but broken: show its own error
            raise
        raise ImportError(missing_tensorflow_message(feature), name="tensorflow") from error
    return tensorflow
