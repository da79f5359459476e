"""Per-image pixel and geometric operations of TrivialAugment-Wide.

Every function takes a batch of float32 images in channels_last layout on the
0-255 scale (the scale PIL, and so the official TrivialAugment code, works on)
and per-image parameters of shape ``(batch,)``. ``xp`` is an operations namespace
with ``keras.ops``' flat names: ``keras.ops`` itself (eager, inside a model, under
XLA) or :mod:`tf_lropt.augment._tf_ops` (inside a ``tf.data`` graph whatever the
Keras backend), so that one piece of code serves every place the layer runs.

Where Keras ships a layer for an operation it is not reused as is, for these
reasons (Keras 3.15): ``Equalization`` builds one histogram per channel over the
whole batch instead of per image; ``AutoContrast`` reduces over axes (1, 2),
which are not the spatial axes for channels_first or single images, and divides
by zero on flat channels; ``RandomSharpness`` zero-pads, darkening the border
that PIL leaves unchanged; ``RandomBrightness`` adds an offset where PIL
multiplies; ``RandomContrast`` blends with per-channel means where PIL uses the
grayscale mean. The geometric operations gather pixels through the inverse map
instead of calling ``affine_transform``, whose TensorFlow kernel has no XLA
version.
"""

from __future__ import annotations

import math

_MAX_PIXEL = 255.0
_NUM_LEVELS = 256
# ITU-R 601-2 luma, as PIL's convert("L") and keras.ops.image.rgb_to_grayscale.
_GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)


def _per_image(xp, values):
    return xp.reshape(values, (-1, 1, 1, 1))


def _blend(xp, degenerate, images, factor):
    """PIL ``ImageEnhance``: ``degenerate + factor * (image - degenerate)``, clipped."""
    blended = degenerate + _per_image(xp, factor) * (images - degenerate)
    return xp.clip(blended, 0.0, _MAX_PIXEL)


def _grayscale(xp, images):
    if images.shape[-1] == 3:
        weights = xp.convert_to_tensor(_GRAY_WEIGHTS, dtype="float32")
        return xp.sum(images * weights, axis=-1, keepdims=True)
    return images


def brightness(xp, images, factor):
    """Blends with a black image: ``factor * image``."""
    return _blend(xp, xp.zeros_like(images), images, factor)


def color(xp, images, factor):
    """Blends with the image's grayscale version (saturation)."""
    return _blend(xp, _grayscale(xp, images), images, factor)


def contrast(xp, images, factor):
    """Blends with the mean of the grayscale image, one scalar per image."""
    mean = xp.mean(_grayscale(xp, images), axis=(1, 2, 3), keepdims=True)
    return _blend(xp, mean, images, factor)


def sharpness(xp, images, factor):
    """Blends with PIL's SMOOTH filter (3x3, centre weight 5/13, others 1/13).

    The one-pixel border keeps its original values, as in PIL and torchvision.
    """
    channels = images.shape[-1]
    kernel = [[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]
    kernel = xp.divide(xp.convert_to_tensor(kernel, dtype="float32"), 13.0)
    kernel = xp.tile(xp.reshape(kernel, (3, 3, 1, 1)), (1, 1, channels, 1))
    # Explicit layout: keras.ops would follow keras.config.image_data_format().
    smoothed = xp.depthwise_conv(
        images, kernel, strides=1, padding="same", data_format="channels_last"
    )
    shape = xp.shape(images)
    rows = xp.arange(shape[1])
    cols = xp.arange(shape[2])
    inner_rows = (rows > 0) & (rows < shape[1] - 1)
    inner_cols = (cols > 0) & (cols < shape[2] - 1)
    inner = xp.logical_and(inner_rows[None, :, None, None], inner_cols[None, None, :, None])
    degenerate = xp.where(inner, smoothed, images)
    return _blend(xp, degenerate, images, factor)


def posterize(xp, images, bits_removed):
    """Keeps the ``8 - bits_removed`` most significant bits of each value."""
    step = _per_image(xp, xp.power(2.0, xp.cast(bits_removed, "float32")))
    quantized = xp.floor(images / step) * step
    # Zero bits removed must return float input untouched, not floored.
    return xp.where(step > 1.0, quantized, images)


def solarize(xp, images, amount):
    """Inverts values ``>= 256 - amount`` (PIL ``ImageOps.solarize(256 - amount)``)."""
    threshold = _per_image(xp, _NUM_LEVELS - xp.cast(amount, "float32"))
    return xp.where(images >= threshold, _MAX_PIXEL - images, images)


def autocontrast(xp, images):
    """Stretches each channel of each image to the full range; flat channels stay."""
    low = xp.min(images, axis=(1, 2), keepdims=True)
    high = xp.max(images, axis=(1, 2), keepdims=True)
    spread = high - low
    safe_spread = xp.where(spread > 0, spread, 1.0)
    stretched = xp.clip((images - low) * (_MAX_PIXEL / safe_spread), 0.0, _MAX_PIXEL)
    return xp.where(spread > 0, stretched, images)


def equalize(xp, images):
    """PIL ``ImageOps.equalize`` per image and channel on the 256 integer levels.

    With ``h`` the channel's histogram, ``step = (sum(h) - h[last non-empty]) // 255``
    and level ``i`` maps to ``(step // 2 + sum(h[:i])) // step``; a channel with
    ``step == 0`` (one level, or nearly so) is left unchanged.
    """
    shape = xp.shape(images)
    batch, channels = shape[0], shape[3]
    levels = xp.cast(xp.clip(xp.round(images), 0.0, _MAX_PIXEL), "int32")
    # One histogram per (image, channel): segment (b * C + c) * 256 + level.
    histogram_ids = xp.reshape(xp.arange(batch * channels, dtype="int32"), (batch, 1, 1, channels))
    segment_ids = histogram_ids * _NUM_LEVELS + levels
    flat_ids = xp.reshape(segment_ids, (-1,))  # JAX segments the leading axis only
    counts = xp.segment_sum(
        xp.ones_like(flat_ids, dtype="float32"),
        flat_ids,
        num_segments=batch * channels * _NUM_LEVELS,
    )
    hist = xp.reshape(counts, (-1, _NUM_LEVELS))
    level_index = xp.arange(_NUM_LEVELS, dtype="float32")
    last_level = xp.max(xp.where(hist > 0, level_index, -1.0), axis=1)
    last_count = xp.sum(xp.where(level_index == last_level[:, None], hist, 0.0), axis=1)
    total = xp.sum(hist, axis=1)
    step = xp.floor((total - last_count) / _MAX_PIXEL)[:, None]
    safe_step = xp.maximum(step, 1.0)
    before = xp.cumsum(hist, axis=1) - hist
    lut = xp.minimum(xp.floor((xp.floor(step / 2) + before) / safe_step), 255)
    lut = xp.where(step > 0, lut, level_index)
    return xp.take(xp.reshape(lut, (-1,)), segment_ids)


def affine_matrices(xp, shear_x, shear_y, translate_x, translate_y, degrees, height, width):
    """Inverse maps (output pixel -> input pixel) ``[c0, c1, c2, d0, d1, d2]`` per image.

    Output pixel ``(x, y)`` samples input ``(c0 x + c1 y + c2, d0 x + d1 y + d2)``.
    Conventions follow PIL as the official code uses it: shears are about the
    top-left corner, ``translate_x = t`` samples the input ``t`` pixels to the
    right (the content moves left), rotation is counter-clockwise by ``degrees``
    about the image centre. TrivialAugment sets one of them per image; were several
    set, the inverse maps would compose as ``shear_translate(rotate(p))``.
    """
    theta = xp.multiply(xp.cast(degrees, "float32"), math.pi / 180.0)
    cos, sin = xp.cos(theta), xp.sin(theta)
    centre_x = (xp.cast(width, "float32") - 1.0) / 2.0
    centre_y = (xp.cast(height, "float32") - 1.0) / 2.0
    # Counter-clockwise on screen (y points down) about the centre (cx, cy):
    # x_r = cos (x - cx) - sin (y - cy) + cx,  y_r = sin (x - cx) + cos (y - cy) + cy.
    r0, r1, r2 = cos, -sin, centre_x - cos * centre_x + sin * centre_y
    r3, r4, r5 = sin, cos, centre_y - sin * centre_x - cos * centre_y
    # Then x_in = x_r + shear_x y_r + translate_x,  y_in = shear_y x_r + y_r + translate_y.
    c0, c1, c2 = r0 + shear_x * r3, r1 + shear_x * r4, r2 + shear_x * r5 + translate_x
    d0, d1, d2 = shear_y * r0 + r3, shear_y * r1 + r4, shear_y * r2 + r5 + translate_y
    return xp.stack([c0, c1, c2, d0, d1, d2], axis=1)


def warp(xp, images, matrices, interpolation="nearest", fill_value=0.0):
    """Warps each image by its inverse map, ``fill_value`` (black) outside the image.

    ``"nearest"`` takes ``image[floor(y_in + 0.5), floor(x_in + 0.5)]`` (PIL's
    nearest sampling) with ``(x_in, y_in)`` from :func:`affine_matrices`;
    ``"bilinear"`` weights the four neighbours, those outside counting as black.
    Built from gathers over the flattened batch, so it compiles under XLA on
    every backend; ``"nearest"`` keeps the images' dtype (integer images too).
    """
    shape = xp.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    xs = xp.cast(xp.arange(width), "float32")[None, None, :]
    ys = xp.cast(xp.arange(height), "float32")[None, :, None]
    m = [xp.reshape(matrices[:, i], (-1, 1, 1)) for i in range(6)]
    source_x = m[0] * xs + m[1] * ys + m[2]
    source_y = m[3] * xs + m[4] * ys + m[5]
    flat_images = xp.reshape(images, (-1, channels))
    image_start = xp.reshape(xp.arange(batch, dtype="int32") * (height * width), (-1, 1, 1))
    last_column = xp.cast(width, "float32") - 1.0
    last_row = xp.cast(height, "float32") - 1.0

    def pixels_at(column, row):
        """Pixels at integer-valued float coordinates, black outside the image."""
        inside = xp.logical_and(
            xp.logical_and(column >= 0.0, column <= last_column),
            xp.logical_and(row >= 0.0, row <= last_row),
        )
        column = xp.cast(xp.clip(column, 0.0, last_column), "int32")
        row = xp.cast(xp.clip(row, 0.0, last_row), "int32")
        flat_index = xp.reshape(image_start + row * width + column, (-1,))
        pixels = xp.reshape(xp.take(flat_images, flat_index, axis=0), shape)
        fill = xp.zeros_like(pixels)
        if fill_value:
            fill = fill + xp.cast(fill_value, pixels.dtype)
        return xp.where(inside[..., None], pixels, fill)

    if interpolation == "nearest":
        return pixels_at(xp.floor(source_x + 0.5), xp.floor(source_y + 0.5))
    left, top = xp.floor(source_x), xp.floor(source_y)
    right_weight = (source_x - left)[..., None]
    bottom_weight = (source_y - top)[..., None]
    upper = (1.0 - right_weight) * pixels_at(left, top) + right_weight * pixels_at(left + 1.0, top)
    lower = (1.0 - right_weight) * pixels_at(left, top + 1.0) + right_weight * pixels_at(
        left + 1.0, top + 1.0
    )
    return (1.0 - bottom_weight) * upper + bottom_weight * lower
