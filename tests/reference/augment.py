"""Float64 NumPy versions of the TrivialAugment-Wide operations, one image at a time.

Written from PIL's definitions (``ImageEnhance``, ``ImageOps``, ``Image.transform``)
as the official TrivialAugment code calls them, not from the package code. Images
are ``(H, W, C)`` arrays on the 0-255 scale.
"""

from __future__ import annotations

import numpy as np

GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])


def gray(image):
    return (image @ GRAY_WEIGHTS)[..., None] if image.shape[-1] == 3 else image


def blend(degenerate, image, factor):
    return np.clip(degenerate + factor * (image - degenerate), 0, 255)


def brightness(image, factor):
    return blend(np.zeros_like(image), image, factor)


def color(image, factor):
    return blend(gray(image), image, factor)


def contrast(image, factor):
    return blend(np.full_like(image, gray(image).mean()), image, factor)


def sharpness(image, factor):
    kernel = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], dtype=np.float64) / 13.0
    height, width, _ = image.shape
    smooth = image.copy()
    for row in range(1, height - 1):
        for col in range(1, width - 1):
            window = image[row - 1 : row + 2, col - 1 : col + 2, :]
            smooth[row, col] = np.tensordot(kernel, window, axes=([0, 1], [0, 1]))
    return blend(smooth, image, factor)


def posterize(image, bits_removed):
    step = 2.0**bits_removed
    return np.floor(image / step) * step


def solarize(image, amount):
    return np.where(image >= 256 - amount, 255 - image, image)


def autocontrast(image):
    out = image.copy()
    for c in range(image.shape[-1]):
        low, high = image[..., c].min(), image[..., c].max()
        if high > low:
            out[..., c] = (image[..., c] - low) * 255.0 / (high - low)
    return out


def equalize(image):
    """PIL ``ImageOps.equalize``: the lookup table built bin by bin."""
    out = image.copy()
    for c in range(image.shape[-1]):
        levels = image[..., c].astype(np.int64)
        hist = np.bincount(levels.ravel(), minlength=256)
        nonempty = hist[hist > 0]
        step = (nonempty.sum() - nonempty[-1]) // 255 if len(nonempty) > 1 else 0
        if step == 0:
            continue
        lut, running = [], step // 2
        for i in range(256):
            lut.append(min(running // step, 255))
            running += hist[i]
        out[..., c] = np.array(lut)[levels]
    return out


def affine_nearest(image, inverse_map):
    """``out[y, x] = image[round(inverse_map(x, y))]``, black outside the image."""
    height, width, _ = image.shape
    out = np.zeros_like(image)
    for y in range(height):
        for x in range(width):
            xs, ys = inverse_map(x, y)
            xi, yi = int(np.floor(xs + 0.5)), int(np.floor(ys + 0.5))
            if 0 <= xi < width and 0 <= yi < height:
                out[y, x] = image[yi, xi]
    return out


def shear_x(image, shear):
    return affine_nearest(image, lambda x, y: (x + shear * y, y))


def shear_y(image, shear):
    return affine_nearest(image, lambda x, y: (x, shear * x + y))


def translate_x(image, pixels):
    return affine_nearest(image, lambda x, y: (x + pixels, y))


def translate_y(image, pixels):
    return affine_nearest(image, lambda x, y: (x, y + pixels))


def rotate(image, degrees):
    """Counter-clockwise about the centre of the pixel grid, as PIL ``Image.rotate``."""
    theta = np.deg2rad(degrees)
    cy, cx = (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2

    def inverse(x, y):
        dx, dy = x - cx, y - cy
        return np.cos(theta) * dx - np.sin(theta) * dy + cx, np.sin(theta) * dx + np.cos(
            theta
        ) * dy + cy

    return affine_nearest(image, inverse)


OPERATIONS = {
    "identity": lambda image, magnitude: image,
    "shear_x": shear_x,
    "shear_y": shear_y,
    "translate_x": translate_x,
    "translate_y": translate_y,
    "rotate": rotate,
    "brightness": lambda image, magnitude: brightness(image, 1 + magnitude),
    "color": lambda image, magnitude: color(image, 1 + magnitude),
    "contrast": lambda image, magnitude: contrast(image, 1 + magnitude),
    "sharpness": lambda image, magnitude: sharpness(image, 1 + magnitude),
    "posterize": posterize,
    "solarize": solarize,
    "autocontrast": lambda image, magnitude: autocontrast(image),
    "equalize": lambda image, magnitude: equalize(image),
}
