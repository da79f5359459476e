"""The standard CIFAR training input pipeline with TrivialAugment and CutMix, for tf.data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tf_lropt._tensorflow import require_tensorflow
from tf_lropt._validation import check_int, check_value_range
from tf_lropt.augment import _image_ops, _tf_ops
from tf_lropt.augment._checks import PixelValueCheck, check_channel_axis
from tf_lropt.augment.cutmix import CutMix
from tf_lropt.augment.trivial_augment import TrivialAugment

if TYPE_CHECKING:
    import tensorflow as tf

CROP_PADDING = 4


def _pad_crop_flip(images, seed, fill_value=0.0):
    """Per image of a batch: pad 4 pixels of ``fill_value`` (black), crop back at random,
    flip left-right at random.

    The crop is a shift of -4..4 pixels each way, uniform, and the flip has
    probability 1/2, as ``tf.image.stateless_random_crop`` and ``..._flip_left_right``
    on each padded image; done for the whole batch as one nearest-pixel warp (a
    gather), which costs a fraction of one ``tf.data`` map call per image.
    """
    tf = require_tensorflow("cifar_augment (a tf.data pipeline)")
    shift_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    batch = tf.shape(images)[0]
    shifts = tf.random.stateless_uniform(
        (batch, 2), shift_seed, minval=-CROP_PADDING, maxval=CROP_PADDING + 1, dtype=tf.int32
    )
    shifts = tf.cast(shifts, tf.float32)
    flipped = tf.random.stateless_uniform((batch,), flip_seed, 0, 2, dtype=tf.int32) == 1
    # Inverse map: x_in = (W - 1 - x if flipped else x) + shift_x,  y_in = y + shift_y.
    last_column = tf.cast(tf.shape(images)[2] - 1, tf.float32)
    sign = tf.where(flipped, -1.0, 1.0)
    zeros, ones = tf.zeros_like(sign), tf.ones_like(sign)
    offset_x = tf.where(flipped, last_column, 0.0) + shifts[:, 0]
    matrices = tf.stack([sign, zeros, offset_x, zeros, ones, shifts[:, 1]], axis=1)
    return _image_ops.warp(_tf_ops, images, matrices, fill_value=fill_value)


def cifar_augment(
    dataset: tf.data.Dataset,
    num_classes: int = 10,
    batch_size: int = 128,
    trivial_augment: bool = True,
    cutmix: bool = True,
    cutmix_alpha: float = 1.0,
    cutmix_probability: float = 1.0,
    value_range: tuple[float, float] = (0, 255),
    seed: int | None = None,
    drop_remainder: bool = True,
) -> tf.data.Dataset:
    """Augments, batches and prefetches a CIFAR-style training set.

    Per image: pad by 4 black pixels (the bottom of ``value_range``) and crop a random
    window of the original size (a shift of -4..4 pixels each way), random horizontal flip, then
    :class:`TrivialAugment` (each image its own operation and strength). Per batch:
    :class:`CutMix` with ``Beta(cutmix_alpha, cutmix_alpha)`` boxes, applied with
    ``cutmix_probability``. This is the "+TrivialAugment +CutMix" recipe of
    Noguchi & Yamauchi (Nihon University; ``tf_lropt.recipes.RobustRecipe`` cites it in
    full), with CutMix alpha = probability = 1.0.

    Args:
        dataset: unbatched ``(image, label)`` pairs, images ``(H, W, C)`` channels_last
            with 1 or 3 channels, integer or float in ``value_range``; labels integer
            class ids (scalar) or one-hot vectors. Shuffle it (and ``cache`` it) before
            calling this. Images whose shape looks channels_first raise ``ValueError``;
            a batch with values outside ``value_range`` stops the iteration with
            ``tf.errors.InvalidArgumentError`` naming ``value_range``, and float images
            all in [0, 1] under ``value_range=(0, 255)`` give a warning (once).
        num_classes: number of classes, for the one-hot labels.
        batch_size: images per batch.
        trivial_augment: apply TrivialAugment.
        cutmix: apply CutMix.
        cutmix_alpha: CutMix's Beta shape, in (0, 1].
        cutmix_probability: chance that a batch is CutMix-ed.
        value_range: ``(low, high)`` of the pixel values; the output keeps it.
        seed: integer seed for every random draw. Crop and flip are stateless and
            reproducible exactly; TrivialAugment and CutMix draw from their layers'
            seed generators, reproducible when ``tf.data`` runs the batches in order.
        drop_remainder: drop the last incomplete batch (CutMix needs two images).

    Returns:
        A dataset of ``(images, labels)`` batches: float32 images ``(B, H, W, C)`` in
        ``value_range`` and float32 one-hot (or mixed) labels ``(B, num_classes)``,
        with new random draws every epoch.
    """
    # Only here: the layers themselves run on any Keras backend.
    tf = require_tensorflow("cifar_augment (a tf.data pipeline)")

    check_int("num_classes", num_classes, 2)
    check_int("batch_size", batch_size, 2 if cutmix else 1)
    value_range = check_value_range("value_range", value_range)
    if seed is not None:
        check_int("seed", seed)
    image_spec = dataset.element_spec[0]
    check_channel_axis(tuple(image_spec.shape), "channels_last", "cifar_augment",
                       argument="dataset")
    low = value_range[0]

    def one_hot(image, label):
        label = tf.convert_to_tensor(label)
        if label.shape.rank == 0:
            label = tf.one_hot(tf.cast(label, tf.int32), num_classes)
        return image, tf.cast(label, tf.float32)

    def crop_flip(seed_pair, batch):
        images, labels = batch
        return _pad_crop_flip(images, seed_pair, fill_value=low), labels

    # A fresh seed per batch and per epoch, deterministic given `seed`.
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    autotune = tf.data.AUTOTUNE
    data = dataset.map(one_hot, num_parallel_calls=autotune)
    data = data.batch(batch_size, drop_remainder=drop_remainder)
    data = tf.data.Dataset.zip(seeds, data).map(crop_flip, num_parallel_calls=autotune)
    if trivial_augment:
        # Input pipelines compute in float32 whatever the model's mixed-precision policy.
        # TrivialAugment checks the values against value_range itself.
        augment = TrivialAugment(value_range=value_range, seed=seed, dtype="float32")
        data = data.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=autotune)
    else:
        value_check = PixelValueCheck("cifar_augment", value_range)
        is_float = image_spec.dtype.is_floating
        data = data.map(lambda x, y: (value_check.apply(_tf_ops, x, is_float, True), y),
                        num_parallel_calls=autotune)
    if cutmix:
        mixer = CutMix(alpha=cutmix_alpha, probability=cutmix_probability, seed=seed,
                       dtype="float32")

        def mix(images, labels):
            mixed = mixer({"images": images, "labels": labels}, training=True)
            return mixed["images"], mixed["labels"]

        data = data.map(mix, num_parallel_calls=autotune)
    data = data.map(lambda x, y: (tf.cast(x, tf.float32), y))
    return data.prefetch(autotune)
