"""Checks of the images the augmentation layers receive: channel axis and pixel values.

A layer told the wrong ``value_range`` or ``data_format`` would otherwise compute
without complaint and return corrupted images. What can be checked depends on where
the layer runs:

- concrete values (eager TensorFlow, NumPy, JAX outside ``jit``, torch): checked in
  Python, ``ValueError`` on values outside ``value_range``;
- a TensorFlow graph outside XLA that no other Keras layer is calling (a ``tf.data``
  map, a ``tf.function`` of the user's): the same Python check runs on the batch's
  minimum and maximum through ``tf.numpy_function``, and its ``ValueError`` surfaces as
  ``tf.errors.InvalidArgumentError`` when the batch is computed;
- anywhere else (inside a model's compiled train step, under XLA or ``jax.jit``) a
  value cannot stop the computation: the images are clipped to ``value_range``.

The channel axis is read from the static shape and checked everywhere.
"""

from __future__ import annotations

import math
import sys
import threading
import warnings

import keras

from tf_lropt.augment import _tf_ops

# Image layers of this package work on grayscale or RGB images.
IMAGE_CHANNELS = (1, 3)
_WARN_LOCK = threading.Lock()  # tf.data may run checks of one layer in parallel


def check_channel_axis(
    shape: tuple,
    data_format: str,
    owner: str,
    *,
    argument: str = "data_format",
    require_image_channels: bool = True,
) -> None:
    """Raises ``ValueError`` when ``data_format`` puts the channel axis on the wrong axis.

    ``shape`` is a rank-3 image or rank-4 batch (other ranks are left to the caller).
    With ``require_image_channels`` the channel axis must hold 1 or 3 channels; without
    it, only a shape that fits the other layout (and not this one) is rejected.
    """
    if len(shape) not in (3, 4):
        return
    channels_last = data_format == "channels_last"
    channels, other = (shape[-1], shape[-3]) if channels_last else (shape[-3], shape[-1])
    if channels is None or channels in IMAGE_CHANNELS:
        return
    looks_other = other in IMAGE_CHANNELS
    if not require_image_channels and not looks_other:
        return
    other_format = "channels_first" if channels_last else "channels_last"
    hint = (
        f" The shape fits {other_format!r}: pass data_format={other_format!r}"
        if looks_other
        else " Pass images with 1 (grayscale) or 3 (RGB) channels"
    )
    raise ValueError(
        f"Argument `{argument}` of {owner} is {data_format!r}, which reads images of shape "
        f"{tuple(shape)} as having {channels} channels; {owner} takes 1 or 3 channels."
        f"{hint} (the default is keras.config.image_data_format())."
    )


def _is_concrete(x) -> bool:
    """Whether ``x`` holds values Python can read now (not a graph or traced tensor)."""
    tf = sys.modules.get("tensorflow")
    if tf is not None and tf.is_tensor(x):
        return tf.executing_eagerly()
    jax = sys.modules.get("jax")
    if jax is not None and isinstance(x, jax.core.Tracer):
        return False
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        compiler = getattr(torch, "compiler", None)
        return not (compiler is not None and compiler.is_compiling())
    return True


class PixelValueCheck:
    """Checks that images lie in ``value_range``; warns once on [0, 1] floats under (0, 255).

    One instance per layer (or pipeline): the warning fires once per instance.
    """

    def __init__(self, owner: str, value_range: tuple[float, float]):
        self.owner = owner
        self.value_range = value_range
        self.warned_unit_scale = False

    def check(self, minimum: float, maximum: float, is_float: bool) -> None:
        """The check itself, on the images' minimum and maximum."""
        low, high = self.value_range
        if not (math.isfinite(minimum) and math.isfinite(maximum)):
            raise ValueError(
                f"Argument `images` of {self.owner} must be finite; received images with "
                f"values in [{minimum:g}, {maximum:g}]."
            )
        if minimum < low or maximum > high:
            raise ValueError(
                f"Argument `images` of {self.owner} must lie in value_range=({low:g}, {high:g}); "
                f"received images with values in [{minimum:g}, {maximum:g}]. Set `value_range` "
                f"to the images' scale, e.g. value_range=(0, 1) or (-1, 1)."
            )
        unit_scale = is_float and (low, high) == (0.0, 255.0) and 0.0 < maximum <= 1.0
        if unit_scale:
            with _WARN_LOCK:
                if self.warned_unit_scale:
                    return
                self.warned_unit_scale = True
            warnings.warn(
                f"{self.owner}: float images with all values in [0, 1] under "
                f"value_range=(0, 255); if they are scaled to [0, 1], pass value_range=(0, 1), "
                f"otherwise the operations treat them as nearly black images.",
                UserWarning,
                stacklevel=2,
            )

    def apply(self, xp, images, is_float: bool, check_in_graph: bool):
        """``images`` checked (concrete values, or a TensorFlow graph when
        ``check_in_graph``), else clipped to ``value_range`` (as float32)."""
        low, high = self.value_range
        if _is_concrete(images):
            minimum = float(keras.ops.convert_to_numpy(xp.min(images)))
            maximum = float(keras.ops.convert_to_numpy(xp.max(images)))
            self.check(minimum, maximum, is_float)
            return images
        if check_in_graph and _tf_ops.is_tf_tensor_outside_xla(images):
            return self._checked_in_tf_graph(images, is_float)
        # float32 first: integer images cannot be clipped to float bounds.
        return xp.clip(xp.cast(images, "float32"), low, high)

    def _checked_in_tf_graph(self, images, is_float: bool):
        tf = _tf_ops._tf()

        def check(minimum, maximum):
            self.check(float(minimum), float(maximum), is_float)
            return True

        values = tf.cast(images, tf.float32)
        # stateful: tf.data prunes a stateless op whose output only gates a dependency.
        done = tf.numpy_function(
            check, [tf.reduce_min(values), tf.reduce_max(values)], tf.bool, stateful=True
        )
        with tf.control_dependencies([done]):
            return tf.identity(images)
