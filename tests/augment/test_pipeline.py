"""cifar_augment: the tf.data training pipeline."""

import numpy as np
import pytest

from tests._keras_version import needs_keras_cutmix
from tf_lropt.augment import cifar_augment

# The tf.data pipeline: the module is skipped where TensorFlow is not installed.
tf = pytest.importorskip("tensorflow")

NUM, SIZE = 64, 16


def _dataset(one_hot=False):
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (NUM, SIZE, SIZE, 3)).astype("uint8")
    labels = rng.randint(0, 10, NUM)
    if one_hot:
        labels = np.eye(10, dtype="float32")[labels]
    return tf.data.Dataset.from_tensor_slices((images, labels)), images


def _epoch(dataset):
    batches = list(dataset)
    return np.concatenate([x.numpy() for x, _ in batches]), np.concatenate(
        [y.numpy() for _, y in batches]
    )


@needs_keras_cutmix
@pytest.mark.parametrize("one_hot", [False, True])
def test_batches_shapes_dtypes_ranges_and_label_sums(one_hot):
    source, _ = _dataset(one_hot)
    dataset = cifar_augment(source, batch_size=16, seed=1)
    batches = list(dataset)
    assert len(batches) == NUM // 16
    for images, labels in batches:
        assert images.dtype == tf.float32 and tuple(images.shape) == (16, SIZE, SIZE, 3)
        assert labels.dtype == tf.float32 and tuple(labels.shape) == (16, 10)
        assert images.numpy().min() >= 0 and images.numpy().max() <= 255
        np.testing.assert_allclose(labels.numpy().sum(axis=1), 1.0, atol=1e-6)
    # CutMix with probability 1 mixes labels in every batch.
    assert all((labels.numpy().max(axis=1) < 1).any() for _, labels in batches)


def test_crop_and_flip_are_shifts_and_mirrors_of_the_original():
    source, originals = _dataset()
    images, _ = _epoch(
        cifar_augment(source, batch_size=8, trivial_augment=False, cutmix=False, seed=2)
    )
    pad = 4
    for image, original in zip(images, originals, strict=True):
        padded = np.pad(original, ((pad, pad), (pad, pad), (0, 0))).astype("float32")
        windows = [
            candidate[dy : dy + SIZE, dx : dx + SIZE]
            for candidate in (padded, padded[:, ::-1])
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
        ]
        assert any(np.array_equal(image, window) for window in windows)


def test_seed_reproduces_crops_and_flips_and_epochs_differ():
    source, _ = _dataset()

    def build(seed):
        return cifar_augment(source, batch_size=8, trivial_augment=False, cutmix=False, seed=seed)

    first, second = build(5), build(5)
    epoch_1, _ = _epoch(first)
    np.testing.assert_array_equal(epoch_1, _epoch(second)[0])
    assert not np.array_equal(epoch_1, _epoch(first)[0])  # new draws in the next epoch
    assert not np.array_equal(epoch_1, _epoch(build(6))[0])


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"num_classes": 1}, "num_classes"),
        ({"batch_size": 1}, "batch_size"),
        ({"value_range": (1, 0)}, "value_range"),
        pytest.param({"cutmix_alpha": 0.0}, "alpha", marks=needs_keras_cutmix),
        pytest.param({"cutmix_probability": 2.0}, "probability", marks=needs_keras_cutmix),
    ],
)
def test_bad_arguments_raise_naming_the_argument(kwargs, name):
    source, _ = _dataset()
    with pytest.raises(ValueError, match=name):
        cifar_augment(source, **kwargs)


@needs_keras_cutmix
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_pipeline_stays_float32_under_a_mixed_precision_policy(policy):
    # Models trained in mixed precision build their input pipeline under the same global
    # policy; Keras' CutMix used to fail there on a float16 range.
    import keras

    keras.mixed_precision.set_global_policy(policy)
    source, _ = _dataset()
    images, labels = _epoch(cifar_augment(source, batch_size=16, seed=3))
    assert images.dtype == np.float32 and labels.dtype == np.float32
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-6)
