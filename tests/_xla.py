"""XLA compilation of a function on the current Keras backend, for tests.

Keras' ``fit`` may silently drop XLA (a layer without ``supports_jit``, a
distribution strategy), so tests that must run compiled force it here.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import pytest


def xla_compiled(function: Callable) -> Callable:
    """``function`` under ``jax.jit`` or ``tf.function(jit_compile=True)``.

    Skips the calling test on a backend without XLA (torch): there is nothing to check.
    """
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(function)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True)
    pytest.skip(f"No XLA on the {keras.backend.backend()} backend.")
