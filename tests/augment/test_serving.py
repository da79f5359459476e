"""Serving: augmentation layers are the identity whenever the model is not training."""

import keras
import numpy as np
import pytest

from tests._keras_version import needs_keras_cutmix
from tf_lropt.augment import CutMix, TrivialAugment, inference_model
from tf_lropt.recipes import RobustRecipe

SIZE = 8


def _images(batch=16, high=255.0, seed=0):
    return np.random.RandomState(seed).uniform(0, high, (batch, SIZE, SIZE, 1)).astype("float32")


def _classifier(augmentation, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((SIZE, SIZE, 1)), *augmentation,
                             keras.layers.Flatten(), keras.layers.Dense(4)])


def _served(model, path):
    """``model.export`` to ``path``, reloaded: its ``serve`` endpoint as NumPy in, out."""
    import tensorflow as tf

    model.export(str(path))  # Keras 3.5 has no `verbose` here
    served = tf.saved_model.load(str(path))
    return lambda x: served.serve(tf.constant(x)).numpy()


def _assert_serves_predict(model, images, path):
    serve = _served(model, path)
    first, second = serve(images), serve(images)
    np.testing.assert_array_equal(first, second)  # deterministic
    np.testing.assert_allclose(first, model.predict(images, verbose=0), rtol=0, atol=1e-5)


def test_exported_recipe_model_serves_what_predict_gives(tmp_path):
    recipe = RobustRecipe(1, 1, value_range=(0, 16), seed=0)
    model = _classifier(recipe.augment_layers((SIZE, SIZE)))
    images = _images(high=16.0)
    _assert_serves_predict(model, images, tmp_path / "recipe")
    # Reloaded as a Keras layer too.
    reloaded = keras.layers.TFSMLayer(str(tmp_path / "recipe"), call_endpoint="serve")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(images)),
                               model.predict(images, verbose=0), rtol=0, atol=1e-5)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_exported_model_with_trivial_augment_serves_what_predict_gives(tmp_path, interpolation):
    inputs = keras.Input((SIZE, SIZE, 1))
    hidden = TrivialAugment(interpolation=interpolation, seed=0)(inputs)
    hidden = keras.layers.Conv2D(3, 3)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(hidden)))
    _assert_serves_predict(model, _images(), tmp_path / "functional")


@pytest.mark.backend_agnostic
def test_layers_augment_in_training_and_only_then_inside_a_model():
    recipe = RobustRecipe(1, 1, seed=0)
    augmentation = keras.Sequential(recipe.augment_layers((SIZE, SIZE)))
    images = _images(batch=32)
    for call in (lambda: augmentation(images), lambda: augmentation(images, training=False),
                 lambda: augmentation.predict(images, verbose=0)):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(call()), images)
    trained = keras.ops.convert_to_numpy(augmentation(images, training=True))
    assert (trained != images).any()
    # On its own a layer still augments by default (layer(x), dataset.map(layer)).
    for layer in augmentation.layers:
        assert (keras.ops.convert_to_numpy(layer(images)) != images).any(), layer.name


@needs_keras_cutmix
@pytest.mark.backend_agnostic
def test_cutmix_inside_a_model_mixes_only_in_training():
    images = np.arange(1, 5, dtype="float32")[:, None, None, None] * np.ones((4, 16, 16, 3))
    labels = np.eye(4, dtype="float32")
    inputs = {"images": keras.Input((16, 16, 3), name="images"),
              "labels": keras.Input((4,), name="labels")}
    model = keras.Model(inputs, CutMix(seed=0)(inputs))
    batch = {"images": images.astype("float32"), "labels": labels}
    out = model(batch)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out["images"]), images)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out["labels"]), labels)
    mixed = model(batch, training=True)
    assert (keras.ops.convert_to_numpy(mixed["labels"]) != labels).any()


def _with_keras_random_layers():
    return _classifier([
        keras.layers.RandomFlip(seed=0),
        keras.layers.RandomRotation(0.3, seed=0),
        keras.layers.RandomTranslation(0.3, 0.3, seed=0),
        keras.layers.RandomZoom(0.3, seed=0),
        keras.layers.RandomContrast(0.5, seed=0),
        keras.layers.Dropout(0.5),
    ])


def test_inference_model_makes_keras_random_layers_serve_what_predict_gives(tmp_path):
    model = _with_keras_random_layers()
    images = _images()
    # Keras' own layers randomize the served predictions of the model as it is ...
    serve = _served(model, tmp_path / "as_is")
    assert not np.allclose(serve(images), model.predict(images, verbose=0), atol=1e-3)
    # ... and not once pinned to inference, with the same weights.
    served = inference_model(model)
    assert [id(v) for v in served.weights] == [id(v) for v in model.weights]
    np.testing.assert_allclose(served.predict(images, verbose=0),
                               model.predict(images, verbose=0), rtol=0, atol=1e-6)
    _assert_serves_predict(served, images, tmp_path / "pinned")
    np.testing.assert_allclose(_served(served, tmp_path / "pinned_again")(images),
                               model.predict(images, verbose=0), rtol=0, atol=1e-5)


@pytest.mark.backend_agnostic
def test_inference_model_is_identity_of_augmentation_when_called_without_flag():
    model = _with_keras_random_layers()
    images = _images()
    pinned = inference_model(model)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pinned(images)),
                               model.predict(images, verbose=0), rtol=0, atol=1e-5)
    inputs = {"a": keras.Input((3,), name="a"), "b": keras.Input((2,), name="b")}
    two_inputs = keras.Model(inputs, keras.layers.Concatenate()([inputs["a"], inputs["b"]]))
    batch = {"a": np.ones((2, 3), "float32"), "b": np.zeros((2, 2), "float32")}
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(inference_model(two_inputs)(batch)), two_inputs.predict(
            batch, verbose=0))


@pytest.mark.backend_agnostic
def test_inference_model_rejects_what_it_cannot_rebuild():
    with pytest.raises(ValueError, match="model"):
        inference_model(keras.layers.Dense(3))

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="model"):
        inference_model(Subclassed())
