"""Per-image pixel and geometric operations of TrivialAugment-Wide.

Every function takes a batch of float32 images in channels_last layout on the
0-255 scale (the scale PIL, and so the official TrivialAugment code, works on)
and per-image parameters of shape ``(batch,)``. ``xp`` is the backend namespace
(``keras.ops`` or a preprocessing layer's ``DynamicBackend``) so that the same
code runs eagerly, inside a model and inside a ``tf.data`` graph.

Where Keras ships a layer for an operation it is not reused as is, for these
reasons (Keras 3.15): ``Equalization`` builds one histogram per channel over the
whole batch instead of per image; ``AutoContrast`` reduces over axes (1, 2),
which are not the spatial axes for channels_first or single images, and divides
by zero on flat channels; ``RandomSharpness`` zero-pads, darkening the border
that PIL leaves unchanged; ``RandomBrightness`` adds an offset where PIL
multiplies; ``RandomContrast`` blends with per-channel means where PIL uses the
grayscale mean. The underlying ``keras.ops`` (``affine_transform``,
``rgb_to_grayscale``, ``depthwise_conv``, ``segment_sum``) are used throughout.
"""

from __future__ import annotations

import math

_MAX_PIXEL = 255.0
_NUM_LEVELS = 256


def _per_image(xp, values):
    return xp.numpy.reshape(values, (-1, 1, 1, 1))


def _blend(xp, degenerate, images, factor):
    """PIL ``ImageEnhance``: ``degenerate + factor * (image - degenerate)``, clipped."""
    blended = degenerate + _per_image(xp, factor) * (images - degenerate)
    return xp.numpy.clip(blended, 0.0, _MAX_PIXEL)


def _grayscale(xp, images):
    if images.shape[-1] == 3:
        return xp.image.rgb_to_grayscale(images, data_format="channels_last")
    return images


def brightness(xp, images, factor):
    """Blends with a black image: ``factor * image``."""
    return _blend(xp, xp.numpy.zeros_like(images), images, factor)


def color(xp, images, factor):
    """Blends with the image's grayscale version (saturation)."""
    return _blend(xp, _grayscale(xp, images), images, factor)


def contrast(xp, images, factor):
    """Blends with the mean of the grayscale image, one scalar per image."""
    mean = xp.numpy.mean(_grayscale(xp, images), axis=(1, 2, 3), keepdims=True)
    return _blend(xp, mean, images, factor)


def sharpness(xp, images, factor):
    """Blends with PIL's SMOOTH filter (3x3, centre weight 5/13, others 1/13).

    The one-pixel border keeps its original values, as in PIL and torchvision.
    """
    channels = images.shape[-1]
    kernel = [[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]
    kernel = xp.numpy.divide(xp.convert_to_tensor(kernel, dtype="float32"), 13.0)
    kernel = xp.numpy.tile(xp.numpy.reshape(kernel, (3, 3, 1, 1)), (1, 1, channels, 1))
    smoothed = xp.nn.depthwise_conv(images, kernel, strides=1, padding="same")
    shape = xp.shape(images)
    rows = xp.numpy.arange(shape[1])
    cols = xp.numpy.arange(shape[2])
    inner_rows = (rows > 0) & (rows < shape[1] - 1)
    inner_cols = (cols > 0) & (cols < shape[2] - 1)
    inner = inner_rows[None, :, None, None] & inner_cols[None, None, :, None]
    degenerate = xp.numpy.where(inner, smoothed, images)
    return _blend(xp, degenerate, images, factor)


def posterize(xp, images, bits_removed):
    """Keeps the ``8 - bits_removed`` most significant bits of each value."""
    step = _per_image(xp, xp.numpy.power(2.0, xp.cast(bits_removed, "float32")))
    quantized = xp.numpy.floor(images / step) * step
    # Zero bits removed must return float input untouched, not floored.
    return xp.numpy.where(step > 1.0, quantized, images)


def solarize(xp, images, amount):
    """Inverts values ``>= 256 - amount`` (PIL ``ImageOps.solarize(256 - amount)``)."""
    threshold = _per_image(xp, _NUM_LEVELS - xp.cast(amount, "float32"))
    return xp.numpy.where(images >= threshold, _MAX_PIXEL - images, images)


def autocontrast(xp, images):
    """Stretches each channel of each image to the full range; flat channels stay."""
    low = xp.numpy.min(images, axis=(1, 2), keepdims=True)
    high = xp.numpy.max(images, axis=(1, 2), keepdims=True)
    spread = high - low
    safe_spread = xp.numpy.where(spread > 0, spread, 1.0)
    stretched = xp.numpy.clip((images - low) * (_MAX_PIXEL / safe_spread), 0.0, _MAX_PIXEL)
    return xp.numpy.where(spread > 0, stretched, images)


def equalize(xp, images):
    """PIL ``ImageOps.equalize`` per image and channel on the 256 integer levels.

    With ``h`` the channel's histogram, ``step = (sum(h) - h[last non-empty]) // 255``
    and level ``i`` maps to ``(step // 2 + sum(h[:i])) // step``; a channel with
    ``step == 0`` (one level, or nearly so) is left unchanged.
    """
    shape = xp.shape(images)
    batch, channels = shape[0], shape[3]
    levels = xp.cast(xp.numpy.clip(xp.numpy.round(images), 0.0, _MAX_PIXEL), "int32")
    # One histogram per (image, channel): segment (b * C + c) * 256 + level.
    histogram_ids = xp.numpy.reshape(
        xp.numpy.arange(batch * channels, dtype="int32"), (batch, 1, 1, channels)
    )
    segment_ids = histogram_ids * _NUM_LEVELS + levels
    flat_ids = xp.numpy.reshape(segment_ids, (-1,))  # JAX segments the leading axis only
    counts = xp.math.segment_sum(
        xp.numpy.ones_like(flat_ids, dtype="float32"),
        flat_ids,
        num_segments=batch * channels * _NUM_LEVELS,
    )
    hist = xp.numpy.reshape(counts, (-1, _NUM_LEVELS))
    level_index = xp.numpy.arange(_NUM_LEVELS, dtype="float32")
    last_level = xp.numpy.max(xp.numpy.where(hist > 0, level_index, -1.0), axis=1)
    last_count = xp.numpy.sum(
        xp.numpy.where(level_index == last_level[:, None], hist, 0.0), axis=1
    )
    total = xp.numpy.sum(hist, axis=1)
    step = xp.numpy.floor((total - last_count) / _MAX_PIXEL)[:, None]
    safe_step = xp.numpy.maximum(step, 1.0)
    before = xp.numpy.cumsum(hist, axis=1) - hist
    lut = xp.numpy.minimum(xp.numpy.floor((xp.numpy.floor(step / 2) + before) / safe_step), 255)
    lut = xp.numpy.where(step > 0, lut, level_index)
    return xp.numpy.take(xp.numpy.reshape(lut, (-1,)), segment_ids)


def affine_matrices(xp, shear_x, shear_y, translate_x, translate_y, degrees, height, width):
    """Inverse maps (output pixel -> input pixel) in ``affine_transform``'s 8-vector form.

    Conventions follow PIL as the official code uses it: shears are about the
    top-left corner, ``translate_x = t`` samples the input ``t`` pixels to the
    right (the content moves left), rotation is counter-clockwise by ``degrees``
    about the image centre. TrivialAugment sets one of them per image; were several
    set, the inverse maps would compose as ``shear_translate(rotate(p))``.
    """
    theta = xp.numpy.multiply(xp.cast(degrees, "float32"), math.pi / 180.0)
    cos, sin = xp.numpy.cos(theta), xp.numpy.sin(theta)
    centre_x = (xp.cast(width, "float32") - 1.0) / 2.0
    centre_y = (xp.cast(height, "float32") - 1.0) / 2.0
    # Counter-clockwise on screen (y points down) about the centre (cx, cy):
    # x_r = cos (x - cx) - sin (y - cy) + cx,  y_r = sin (x - cx) + cos (y - cy) + cy.
    r0, r1, r2 = cos, -sin, centre_x - cos * centre_x + sin * centre_y
    r3, r4, r5 = sin, cos, centre_y - sin * centre_x - cos * centre_y
    # Then x_in = x_r + shear_x y_r + translate_x,  y_in = shear_y x_r + y_r + translate_y.
    c0, c1, c2 = r0 + shear_x * r3, r1 + shear_x * r4, r2 + shear_x * r5 + translate_x
    d0, d1, d2 = shear_y * r0 + r3, shear_y * r1 + r4, shear_y * r2 + r5 + translate_y
    zeros = xp.numpy.zeros_like(c0)
    return xp.numpy.stack([c0, c1, c2, d0, d1, d2, zeros, zeros], axis=1)
