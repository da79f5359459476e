"""Augmentation layers that are the identity whenever their model is not training.

A Keras model called without ``training`` (``model(x)``, and the ``serve`` function
``model.export()`` writes, which traces ``model.__call__``) passes no training flag
to its layers. Keras' random preprocessing layers (``RandomFlip``,
``RandomTranslation``, ...) declare ``call(..., training=True)``, and when a
functional or ``Sequential`` model is built Keras records that default in the
layer's graph node; a call without a flag then runs them in training mode, so an
exported model serves augmented, random predictions (``predict()`` passes
``training=False`` and is not affected). The layers of this package instead follow
Keras' ``Dropout``: inside a model, only ``training=True`` augments. Called on their
own (``layer(x)``, ``dataset.map(layer)``) they augment, as Keras' preprocessing
layers do.

For a model holding Keras' own random layers, :func:`inference_model` gives the
same model pinned to inference, ready for ``export``.
"""

from __future__ import annotations

from typing import Any

import keras


def _outer_call_context(layer: keras.layers.Layer) -> Any:
    """Keras' call context of a layer that is calling ``layer``, or ``None`` on its own."""
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # a Keras without it: treat the layer as called on its own
        return None
    context = global_state.get_global_attribute("current_call_ctx")
    if context is None or getattr(context, "entry_layer", None) is layer:
        return None
    return context


def resolve_training(layer: keras.layers.Layer, training: bool | None) -> bool | None:
    """``training`` for ``layer``: ``False`` when a model calls it without a training flag.

    ``None`` is kept for a layer called on its own (its ``call`` default then applies)
    and when the calling model has a flag (Keras passes it down).
    """
    if training is not None:
        return training
    context = _outer_call_context(layer)
    if context is not None and getattr(context, "training", None) is None:
        return False
    return None


def is_called_by_another_layer(layer: keras.layers.Layer) -> bool:
    """Whether ``layer`` runs inside another Keras layer's or model's call."""
    return _outer_call_context(layer) is not None


class IdentityUnlessTraining:
    """Mixin for Keras' random layers: identity inside a model called without
    ``training=True``; on their own they augment, as before."""

    def __call__(self, *args, training=None, **kwargs):
        training = resolve_training(self, training)
        if training is not None:
            kwargs["training"] = training
        return super().__call__(*args, **kwargs)

    def call(self, data, training=None):
        # Keras' layers default to training=True in `call`, and Keras freezes that
        # default into a functional model's graph node when the model is built; a
        # None default leaves the decision to `__call__` at run time.
        return super().call(data, training=training is not False)


@keras.saving.register_keras_serializable(package="tf_lropt")
class RandomTranslation(IdentityUnlessTraining, keras.layers.RandomTranslation):
    """``keras.layers.RandomTranslation``, the identity inside a model unless training.

    ``RobustRecipe.augment_layers`` uses it for the pad-and-crop shift so that an
    exported model serves the same predictions as ``predict()``.
    """


@keras.saving.register_keras_serializable(package="tf_lropt")
class RandomFlip(IdentityUnlessTraining, keras.layers.RandomFlip):
    """``keras.layers.RandomFlip``, the identity inside a model unless training."""


def inference_model(model: keras.Model) -> keras.Model:
    """``model`` pinned to inference: every layer runs with ``training=False``.

    Random augmentation layers (Keras' ``RandomFlip``, ``RandomCrop``,
    ``RandomRotation``, ... and this package's) are then the identity (``RandomCrop``
    does its inference-time resize), ``Dropout`` is off and batch normalization uses its
    moving statistics, as in ``model.predict()``. The result shares ``model``'s weights
    (no copy); export it for serving::

        inference_model(model).export("served_model")

    ``model`` must be a functional or ``Sequential`` model with known inputs.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"Argument `model` must be a keras.Model; received model={model!r}."
        )
    try:
        flat_inputs = model.inputs  # Sequential's `input` raises where `inputs` works
    except (AttributeError, ValueError):
        flat_inputs = None
    if not flat_inputs:
        raise ValueError(
            "Argument `model` must be a functional or Sequential model with known inputs "
            f"(built from keras.Input); received model={model.name!r} without them."
        )
    try:
        structure = model.input  # a functional model's nesting (e.g. a dict of inputs)
    except (AttributeError, ValueError):
        structure = flat_inputs[0] if len(flat_inputs) == 1 else flat_inputs
    inputs = keras.tree.map_structure(
        lambda spec: keras.Input(batch_shape=spec.shape, dtype=spec.dtype, name=spec.name),
        structure,
    )
    return keras.Model(inputs, model(inputs, training=False), name=f"{model.name}_inference")
