"""Remembering the input dtype across Keras' conversion to the compute dtype."""

from __future__ import annotations

import keras


class RemembersInputDtype:
    """Mixin for image layers: records the images' dtype before ``__call__`` converts them.

    Keras' data layers convert inputs to float32 inside ``tf.data`` before ``call``
    sees them, so the original dtype (e.g. uint8) must be read here; the layer casts
    its output back to ``self._images_dtype``.
    """

    _images_dtype: str | None = None

    def __call__(self, inputs, **kwargs):
        images = inputs["images"] if isinstance(inputs, dict) else inputs
        dtype = getattr(images, "dtype", None)
        self._images_dtype = keras.backend.standardize_dtype(dtype) if dtype else None
        return super().__call__(inputs, **kwargs)
