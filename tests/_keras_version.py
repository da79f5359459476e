"""Skip markers for tests of parts that need a newer Keras than the oldest supported."""

from __future__ import annotations

import keras
import pytest

needs_keras_cutmix = pytest.mark.skipif(
    not hasattr(keras.layers, "CutMix"),
    reason=f"CutMix needs Keras >= 3.9 (keras.layers.CutMix); installed {keras.__version__}",
)
