"""The few ``keras.ops`` that TrivialAugment uses, written with TensorFlow for ``tf.data``.

Inside a ``tf.data`` graph the tensors are TensorFlow's whatever the Keras backend
is, so ``keras.ops`` under JAX or torch cannot take them. This module offers the
same names and signatures (the subset :mod:`tf_lropt.augment._image_ops` needs),
so one implementation of each operation serves both places. TensorFlow is
imported on first use only: the package imports without it.
"""

from __future__ import annotations

import sys

from tf_lropt._tensorflow import require_tensorflow


def _tf():
    return require_tensorflow("TrivialAugment on TensorFlow tensors")


def is_tf_graph_tensor(value) -> bool:
    """Whether ``value`` is a TensorFlow tensor inside a graph being traced (e.g. tf.data)."""
    if sys.modules.get("tensorflow") is None:
        return False
    tf = _tf()
    return tf.is_tensor(value) and not tf.executing_eagerly()


def is_tf_tensor_outside_xla(value) -> bool:
    """Whether ``value`` is a TensorFlow tensor, eager or in a graph XLA will not compile.

    TensorFlow has no public test for an XLA context; its internal one is used
    and, should it move, the answer is False, which is always valid: TrivialAugment
    then takes its static-shape path, and the pixel-value check clips instead of
    raising (:mod:`tf_lropt.augment._checks`).
    """
    if sys.modules.get("tensorflow") is None or not _tf().is_tensor(value):
        return False
    if _tf().executing_eagerly():
        return True
    try:
        from tensorflow.python.ops import control_flow_util
    except ImportError:
        return False
    graph = _tf().compat.v1.get_default_graph()
    return not control_flow_util.GraphOrParentsInXlaContext(graph)


def convert_to_tensor(x, dtype=None):
    return _tf().convert_to_tensor(x, dtype=dtype)


def cast(x, dtype):
    return _tf().cast(x, dtype)


def shape(x):
    """Static sizes where known, dynamic scalars elsewhere (as Keras' TensorFlow backend)."""
    tf = _tf()
    dynamic = tf.shape(x)
    return tuple(size if size is not None else dynamic[i] for i, size in enumerate(x.shape))


def reshape(x, new_shape):
    return _tf().reshape(x, new_shape)


def transpose(x, axes):
    return _tf().transpose(x, axes)


def stack(values, axis=0):
    return _tf().stack(values, axis=axis)


def tile(x, repeats):
    return _tf().tile(x, repeats)


def arange(stop, dtype="int32"):
    return _tf().range(stop, dtype=dtype)


def zeros_like(x):
    return _tf().zeros_like(x)


def ones_like(x, dtype=None):
    return _tf().ones_like(x, dtype=dtype)


def full(shape, fill_value, dtype=None):
    tf = _tf()
    return tf.fill(shape, tf.constant(fill_value, dtype=dtype))


def where(condition, x, y):
    tf = _tf()
    x = tf.convert_to_tensor(x)
    y = tf.convert_to_tensor(y, dtype=x.dtype)
    return tf.where(condition, x, y)


def logical_and(x, y):
    return _tf().logical_and(x, y)


def clip(x, low, high):
    return _tf().clip_by_value(x, low, high)


def floor(x):
    return _tf().floor(x)


def round(x):  # noqa: A001 - keras.ops' name
    return _tf().round(x)


def power(x, y):
    tf = _tf()
    y = tf.convert_to_tensor(y)
    return tf.pow(tf.cast(x, y.dtype), y)


def multiply(x, y):
    return _tf().multiply(x, y)


def divide(x, y):
    return _tf().divide(x, y)


def maximum(x, y):
    return _tf().maximum(x, y)


def minimum(x, y):
    tf = _tf()
    x = tf.convert_to_tensor(x)
    return tf.minimum(x, tf.cast(y, x.dtype))


def cos(x):
    return _tf().cos(x)


def sin(x):
    return _tf().sin(x)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - keras.ops' name
    return _tf().reduce_sum(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return _tf().reduce_mean(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001 - keras.ops' name
    return _tf().reduce_min(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001 - keras.ops' name
    return _tf().reduce_max(x, axis=axis, keepdims=keepdims)


def cumsum(x, axis=None):
    return _tf().cumsum(x, axis=axis)


def take(x, indices, axis=None):
    tf = _tf()
    if axis is None:
        return tf.gather(tf.reshape(x, (-1,)), indices)
    return tf.gather(x, indices, axis=axis)


def segment_sum(data, segment_ids, num_segments):
    return _tf().math.unsorted_segment_sum(data, segment_ids, num_segments)


def depthwise_conv(inputs, kernel, strides=1, padding="same", data_format="channels_last"):
    if data_format != "channels_last":
        raise ValueError(f"Only channels_last is written here; received {data_format=}.")
    return _tf().nn.depthwise_conv2d(
        inputs, kernel, strides=(1, strides, strides, 1), padding=padding.upper()
    )
