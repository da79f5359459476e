"""No silent corruption: values outside value_range, [0, 1] floats under (0, 255), channel axis."""

import warnings

import keras
import numpy as np
import pytest

from tests._keras_version import needs_keras_cutmix
from tf_lropt.augment import OPERATIONS, CutMix, TrivialAugment, cifar_augment

NUM_OPERATIONS = len(OPERATIONS)
# (images dtype, value_range): the three usual pixel scales, and an off-centre one where
# the rescale to 0-255 and back rounds past the range's ends by an ulp.
SCALES = [("float32", (0.0, 1.0)), ("float32", (-1.0, 1.0)), ("uint8", (0.0, 255.0)),
          ("float32", (-0.5, 0.7))]


# apply_operation's magnitudes at the ends of the wide ranges (enhance: factors 2 and 0.01).
FULL_STRENGTH = {
    **{op: (0.99, -0.99) for op in ("shear_x", "shear_y")},
    **{op: (32.0, -32.0) for op in ("translate_x", "translate_y")},
    "rotate": (135.0, -135.0),
    **{op: (1.0, -0.99) for op in ("brightness", "color", "contrast", "sharpness")},
    "posterize": (6.0,),
    "solarize": (256.0,),
}


def _images(dtype, value_range, batch=NUM_OPERATIONS, size=16, seed=0):
    """Random images of the scale, with the range's two ends present in every image."""
    low, high = value_range
    unit = np.random.RandomState(seed).uniform(size=(batch, size, size, 3))
    unit[:, 0, 0], unit[:, -1, -1] = 0.0, 1.0
    images = low + unit * (high - low)
    return np.round(images).astype(dtype) if dtype == "uint8" else images.astype(dtype)


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def _at_strength(operations, level, sign):
    batch = len(operations)
    return {
        "operation": np.asarray(operations, "int32"),
        "level": np.full(batch, level, "int32"),
        "sign": np.full(batch, sign, "int32"),
    }


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("dtype,value_range", SCALES)
@pytest.mark.parametrize("sign", [1, -1])
def test_every_operation_at_full_strength_stays_in_value_range(dtype, value_range, sign):
    low, high = value_range
    images = _images(dtype, value_range)
    for interpolation in ("nearest", "bilinear"):
        layer = TrivialAugment(value_range=value_range, interpolation=interpolation)
        transformation = _at_strength(range(len(OPERATIONS)), 30, sign)  # image i: op i
        out = layer.transform_images(images, transformation)
        assert keras.backend.standardize_dtype(out.dtype) == dtype
        out = _numpy(out).astype("float64")
        for i, operation in enumerate(OPERATIONS):
            assert low <= out[i].min() and out[i].max() <= high, (operation, interpolation)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("dtype,value_range", SCALES)
def test_apply_operation_at_both_ends_stays_in_value_range(dtype, value_range):
    low, high = value_range
    images = _images(dtype, value_range).astype("float32")
    layer = TrivialAugment(value_range=value_range)
    for operation in OPERATIONS:
        for magnitude in FULL_STRENGTH.get(operation, (0.0,)):
            out = _numpy(layer.apply_operation(images, operation, magnitude))
            assert low <= out.min() and out.max() <= high, (operation, magnitude)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("dtype,value_range", SCALES)
def test_random_draws_stay_in_value_range_and_keep_dtype(dtype, value_range):
    low, high = value_range
    images = _images(dtype, value_range, batch=64)
    layer = TrivialAugment(value_range=value_range, seed=0)
    for _ in range(3):
        out = layer(images, training=True)
        assert keras.backend.standardize_dtype(out.dtype) == dtype
        out = _numpy(out)
        assert low <= out.min() and out.max() <= high


@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "images,value_range",
    [
        (np.linspace(-1, 1, 4 * 8 * 8 * 3, dtype="float32").reshape(4, 8, 8, 3), (0, 255)),
        (np.linspace(0, 255, 4 * 8 * 8 * 3, dtype="float32").reshape(4, 8, 8, 3), (0, 1)),
        (np.full((4, 8, 8, 3), 200, "uint8"), (0, 1)),
        (np.full((4, 8, 8, 3), 1.5, "float32"), (-1, 1)),
    ],
)
def test_values_outside_value_range_raise_eagerly(images, value_range):
    layer = TrivialAugment(value_range=value_range)
    with pytest.raises(ValueError, match=r"value_range=\(.*received images with values in"):
        layer(images, training=True)
    with pytest.raises(ValueError, match="value_range"):
        layer(images[0], training=True)
    with pytest.raises(ValueError, match="value_range"):
        layer.apply_operation(images.astype("float32"), "solarize", 128)


def test_values_outside_value_range_raise_in_tf_data():
    import tensorflow as tf

    images = _images("float32", (-1.0, 1.0), batch=8, size=8)  # every image spans [-1, 1]
    layer = TrivialAugment(seed=0)  # value_range (0, 255)
    data = tf.data.Dataset.from_tensor_slices(images).batch(4).map(
        lambda x: layer(x, training=True))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"value_range=\(0, 255\)"):
        list(data)
    unbatched = tf.data.Dataset.from_tensor_slices(images).map(layer)
    with pytest.raises(tf.errors.InvalidArgumentError, match="value_range"):
        list(unbatched)


@pytest.mark.parametrize("trivial_augment", [True, False])
def test_cifar_augment_raises_on_values_outside_value_range(trivial_augment):
    import tensorflow as tf

    images = np.linspace(0, 255, 8 * 8 * 8 * 3, dtype="float32").reshape(8, 8, 8, 3)
    data = tf.data.Dataset.from_tensor_slices((images, np.arange(8) % 2))
    train = cifar_augment(data, num_classes=2, batch_size=4, value_range=(0, 1),
                          trivial_augment=trivial_augment, cutmix=False, seed=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"value_range=\(0, 1\)"):
        list(train)


def test_inside_a_model_graph_out_of_range_values_are_clipped():
    import tensorflow as tf

    # A compiled step cannot stop on a value: the layer clips to value_range there.
    images = np.linspace(-100, 400, 8 * 8 * 8 * 3, dtype="float32").reshape(8, 8, 8, 3)
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, TrivialAugment(seed=0)(inputs))
    for jit_compile in (False, True):
        step = tf.function(lambda x: model(x, training=True), jit_compile=jit_compile)
        out = step(images).numpy()
        assert out.min() >= 0 and out.max() <= 255


@pytest.mark.backend_agnostic
def test_unit_scale_floats_under_the_default_range_warn_once_per_layer():
    images = _images("float32", (0.0, 1.0), batch=4)
    layer = TrivialAugment(seed=0)
    with pytest.warns(UserWarning, match=r"value_range=\(0, 1\)") as caught:
        layer(images, training=True)
    assert sum("value_range" in str(w.message) for w in caught) == 1
    with warnings.catch_warnings():
        # Any UserWarning (ours) fails; other categories (e.g. NumPy's DeprecationWarning about
        # torch tensors' __array__) are not what this test is about.
        warnings.simplefilter("error", UserWarning)
        layer(images, training=True)  # once per layer: no second warning
        # Not for images on the 0-255 scale, uint8, or a value_range that says (0, 1).
        TrivialAugment(seed=0)(images * 255, training=True)
        TrivialAugment(seed=0)(_images("uint8", (0, 255), batch=4), training=True)
        TrivialAugment(value_range=(0, 1), seed=0)(images, training=True)
        layer(images, training=False)  # inference does not look at the values
        # Integer images of 0s and 1s (a mask) are on the 0-255 scale, for apply_operation too.
        mask = (_images("uint8", (0, 255), batch=4) > 127).astype("uint8")
        TrivialAugment(seed=0)(mask, training=True)
        TrivialAugment(seed=0).apply_operation(mask, "rotate", 10.0)
    with pytest.warns(UserWarning, match="value_range"):
        TrivialAugment(seed=0)(images, training=True)  # a new layer warns again
    with pytest.warns(UserWarning, match="value_range"):
        TrivialAugment(seed=0).apply_operation(images, "rotate", 10.0)


def test_unit_scale_floats_warn_once_in_tf_data_and_cifar_augment():
    import tensorflow as tf

    images = _images("float32", (0.0, 1.0), batch=16)
    layer = TrivialAugment(seed=0)
    data = tf.data.Dataset.from_tensor_slices(images).batch(4).map(layer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list(data)
        list(data)
    assert sum("value_range=(0, 1)" in str(w.message) for w in caught) == 1
    pairs = tf.data.Dataset.from_tensor_slices((images, np.arange(16) % 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list(cifar_augment(pairs, num_classes=2, batch_size=4, cutmix=False, seed=0))
    assert sum("value_range=(0, 1)" in str(w.message) for w in caught) == 1


@pytest.mark.backend_agnostic
def test_channels_first_batch_under_channels_last_raises_naming_data_format():
    images = np.transpose(_images("uint8", (0, 255), batch=4), (0, 3, 1, 2))  # (4, 3, 16, 16)
    with pytest.raises(ValueError, match=r"data_format.*'channels_first'"):
        TrivialAugment(data_format="channels_last")(images, training=True)
    with pytest.raises(ValueError, match="data_format"):
        TrivialAugment(data_format="channels_last")(images[0], training=True)
    with pytest.raises(ValueError, match="data_format"):
        TrivialAugment(data_format="channels_last").apply_operation(images, "rotate", 30)
    # Neither axis holds 1 or 3 channels (e.g. RGBA): rejected as well.
    with pytest.raises(ValueError, match="data_format.*4 channels"):
        TrivialAugment()(np.zeros((2, 8, 8, 4), "uint8"), training=True)


def _compiled_transform(layer, images, transformation):
    """``transform_images`` on the path a compiled model takes (keras.ops, not tf.data's)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        step = tf.function(lambda x: layer.transform_images(x, transformation), jit_compile=True)
        return step(images).numpy()
    return _numpy(layer.transform_images(images, transformation))


@pytest.mark.backend_agnostic
def test_channels_first_follows_the_argument_and_the_keras_setting():
    images = _images("uint8", (0, 255))
    first = np.transpose(images, (0, 3, 1, 2))
    out = TrivialAugment(data_format="channels_first", seed=0)(first, training=True)
    assert out.shape == first.shape
    transformation = _at_strength(range(NUM_OPERATIONS), 30, 1)  # image i: operation i
    want = _compiled_transform(TrivialAugment(data_format="channels_last"), images,
                               transformation)
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        layer = TrivialAugment(seed=0)
        assert layer.data_format == "channels_first"
        assert layer(first, training=True).shape == first.shape
        # Every operation computes the same under the channels_first setting (sharpness's
        # convolution must not follow it: the layer works in channels_last inside).
        got = _compiled_transform(layer, first, transformation)
        np.testing.assert_array_equal(np.transpose(got, (0, 2, 3, 1)), want)
        with pytest.raises(ValueError, match="data_format.*'channels_last'"):
            layer(images, training=True)
    finally:
        keras.config.set_image_data_format(previous)


@needs_keras_cutmix
@pytest.mark.backend_agnostic
def test_cutmix_rejects_a_batch_that_does_not_fit_data_format():
    images = np.zeros((4, 3, 16, 16), "float32")
    labels = np.eye(4, dtype="float32")
    with pytest.raises(ValueError, match=r"data_format.*'channels_first'"):
        CutMix(data_format="channels_last")({"images": images, "labels": labels},
                                            training=True)
    out = CutMix(data_format="channels_first", seed=0)({"images": images, "labels": labels},
                                                       training=True)
    assert out["images"].shape == images.shape


def test_cifar_augment_rejects_channels_first_images():
    import tensorflow as tf

    images = np.zeros((8, 3, 16, 16), "uint8")
    data = tf.data.Dataset.from_tensor_slices((images, np.arange(8) % 2))
    with pytest.raises(ValueError, match=r"`dataset`.*'channels_first'"):
        cifar_augment(data, num_classes=2, batch_size=4)


def test_cifar_augment_pads_with_the_bottom_of_value_range():
    import tensorflow as tf

    # White images in [-1, 1]: the crop's padding must be black (-1), not 0 (grey).
    images = np.ones((32, 8, 8, 3), "float32")
    data = tf.data.Dataset.from_tensor_slices((images, np.arange(32) % 2))
    train = cifar_augment(data, num_classes=2, batch_size=32, value_range=(-1, 1),
                          trivial_augment=False, cutmix=False, seed=0)
    out = np.concatenate([x.numpy() for x, _ in train])
    assert set(np.unique(out)) == {-1.0, 1.0}
