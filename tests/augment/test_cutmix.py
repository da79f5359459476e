"""CutMix: boxes inside the image, labels mixed by the pasted pixel fraction."""

import keras
import numpy as np
import pytest

from tests._keras_version import needs_keras_cutmix
from tf_lropt.augment import CutMix

pytestmark = needs_keras_cutmix
BATCH, SIZE, CLASSES = 16, 20, 16


def _batch(dtype="float32", data_format="channels_last"):
    """Image i is filled with the value i + 1 and labelled class i."""
    values = np.arange(1, BATCH + 1, dtype=dtype)
    images = np.broadcast_to(values[:, None, None, None], (BATCH, SIZE, SIZE, 3)).copy()
    if data_format == "channels_first":
        images = np.transpose(images, (0, 3, 1, 2))
    return images, np.eye(CLASSES, dtype="float32")


def _mix(layer, images, labels):
    out = layer({"images": images, "labels": labels}, training=True)
    return keras.ops.convert_to_numpy(out["images"]), keras.ops.convert_to_numpy(out["labels"])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_label_weights_sum_to_one_and_equal_the_pasted_fraction(data_format):
    layer = CutMix(seed=3, data_format=data_format)
    for _ in range(5):
        images, labels = _batch(data_format=data_format)
        mixed, mixed_labels = _mix(layer, images, labels)
        np.testing.assert_allclose(mixed_labels.sum(axis=1), 1.0, atol=1e-6)
        spatial = mixed[:, 0] if data_format == "channels_first" else mixed[..., 0]
        for i in range(BATCH):
            own = np.mean(spatial[i] == i + 1)
            # Pixels not its own came from one other image, which gets the rest of the weight.
            donors = np.unique(spatial[i][spatial[i] != i + 1]).astype(int) - 1
            assert len(donors) <= 1
            np.testing.assert_allclose(mixed_labels[i, i], own if len(donors) else 1.0, atol=1e-6)
            if len(donors):
                np.testing.assert_allclose(mixed_labels[i, donors[0]], 1.0 - own, atol=1e-6)


def test_box_is_a_rectangle_inside_the_image_with_beta_one_area():
    layer = CutMix(alpha=1.0, seed=5)
    images, _ = _batch()
    areas = []
    for _ in range(30):
        t = layer.get_random_transformation(images)
        masks = keras.ops.convert_to_numpy(t["batch_masks"])[..., 0]
        weights = keras.ops.convert_to_numpy(t["mix_weight"])
        for mask, weight in zip(masks, weights, strict=True):
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            if rows.size:
                box = np.zeros_like(mask)
                box[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] = True
                np.testing.assert_array_equal(mask, box)
            np.testing.assert_allclose(weight, 1.0 - mask.mean(), atol=1e-6)
            areas.append(mask.mean())
    # lambda ~ Beta(1, 1) = U(0, 1), box area ~ 1 - lambda up to pixel rounding.
    areas = np.array(areas)
    assert abs(areas.mean() - 0.5) < 0.06
    assert 0.15 < np.mean(areas < 0.25) < 0.35 and 0.15 < np.mean(areas > 0.75) < 0.35


def test_probability_zero_passes_through_and_half_mixes_about_half_the_batches():
    images, labels = _batch()
    untouched, untouched_labels = _mix(CutMix(probability=0.0, seed=1), images, labels)
    np.testing.assert_array_equal(untouched, images)
    np.testing.assert_array_equal(untouched_labels, labels)
    layer = CutMix(probability=0.5, seed=2)
    mixed = [not np.array_equal(_mix(layer, images, labels)[1], labels) for _ in range(60)]
    assert 0.3 < np.mean(mixed) < 0.7


def test_dtype_preserved_and_inference_is_identity():
    images, labels = _batch(dtype="uint8")
    mixed, _ = _mix(CutMix(seed=4), images, labels)
    out = CutMix(seed=4)({"images": images, "labels": labels}, training=True)
    assert keras.backend.standardize_dtype(out["images"].dtype) == "uint8"
    assert not np.array_equal(mixed, images)
    same = CutMix(seed=4)({"images": images, "labels": labels}, training=False)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(same["images"]), images)


def test_same_seed_same_mix():
    images, labels = _batch()
    a = _mix(CutMix(seed=9), images, labels)
    b = _mix(CutMix(seed=9), images, labels)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_tf_data_graph_mode():
    import tensorflow as tf

    images, labels = _batch(dtype="uint8")
    layer = CutMix(seed=1)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    dataset = dataset.map(lambda x, y: layer({"images": x, "labels": y}))
    for batch in dataset:
        assert batch["images"].dtype == tf.uint8
        np.testing.assert_allclose(batch["labels"].numpy().sum(axis=1), 1.0, atol=1e-6)


def test_config_round_trip():
    layer = CutMix(alpha=0.5, probability=0.25, seed=3)
    config = layer.get_config()
    assert config["alpha"] == 0.5 and config["probability"] == 0.25 and "factor" not in config
    clone = CutMix.from_config(config)
    assert (clone.alpha, clone.probability, clone.seed) == (0.5, 0.25, 3)
    assert keras.saving.get_registered_name(CutMix) == "tf_lropt>CutMix"


@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"probability": -0.1}, "probability"),
        ({"probability": 1.1}, "probability"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CutMix(**kwargs)
