"""TrivialAugment-Wide as a Keras preprocessing layer."""

from __future__ import annotations

from typing import Any

import keras

from tf_lropt._validation import check_choice, check_int, check_value_range
from tf_lropt.augment import _image_ops, _tf_ops
from tf_lropt.augment._checks import PixelValueCheck, check_channel_axis
from tf_lropt.augment._dtype import RemembersInputDtype
from tf_lropt.augment.serving import is_called_by_another_layer, resolve_training

# Order of the wide augmentation space as listed in the paper (and torchvision).
OPERATIONS: tuple[str, ...] = (
    "identity",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "rotate",
    "brightness",
    "color",
    "contrast",
    "sharpness",
    "posterize",
    "solarize",
    "autocontrast",
    "equalize",
)
_GEOMETRIC = ("shear_x", "shear_y", "translate_x", "translate_y", "rotate")
# Operations that share one computation: the geometric ones are one warp each
# image with its own inverse map.
_GROUPS: tuple[str, ...] = ("identity", "geometric") + OPERATIONS[len(_GEOMETRIC) + 1 :]
_GROUP_OF_OPERATION = tuple(
    _GROUPS.index("geometric") if op in _GEOMETRIC else _GROUPS.index(op) for op in OPERATIONS
)
# Which entry of `TrivialAugment.parameters` each operation reads.
PARAMETER_OF: dict[str, str] = {
    "shear_x": "shear",
    "shear_y": "shear",
    "translate_x": "translate",
    "translate_y": "translate",
    "rotate": "rotate",
    "brightness": "enhance_factor",
    "color": "enhance_factor",
    "contrast": "enhance_factor",
    "sharpness": "enhance_factor",
    "posterize": "posterize",
    "solarize": "solarize",
}

# Wide ranges of the official code (`aug_lib.set_augmentation_space("wide_standard", 31)`).
MAX_SHEAR = 0.99
MAX_TRANSLATE_PIXELS = 32.0
MAX_ROTATE_DEGREES = 135.0
MAX_POSTERIZE_BITS_REMOVED = 6.0
MAX_SOLARIZE_AMOUNT = 256.0
ENHANCE_FACTOR_RANGE = (0.01, 2.0)


@keras.saving.register_keras_serializable(package="tf_lropt")
class TrivialAugment(RemembersInputDtype, keras.layers.Layer):
    """TrivialAugment-Wide (Müller & Hutter, 2021): one random operation per image.

    For every image independently, TrivialAugment draws one operation uniformly
    from the 14 of the wide space and one strength level ``k`` uniformly from
    ``{0, ..., num_magnitude_bins - 1}``; with ``s = k / (num_magnitude_bins - 1)``
    and a fair random sign ``±`` for the geometric operations, the operation's
    parameter is (the official code's ``wide_standard`` space):

    | operation | parameter | range |
    |---|---|---|
    | identity | - | - |
    | shear_x, shear_y | ``± 0.99 s`` (shear factor, about the top-left corner) | [-0.99, 0.99] |
    | translate_x, translate_y | ``± floor(32 s)`` pixels | [-32, 32] |
    | rotate | ``± floor(135 s)`` degrees about the centre | [-135, 135] |
    | brightness, color, contrast, sharpness | PIL enhance factor ``0.01 + 1.99 s`` | [0.01, 2.0] |
    | posterize | keep ``8 - floor(6 s)`` bits | 8 to 2 bits |
    | solarize | invert values ``>= 256 - floor(256 s)`` (0-255 scale) | none to all |
    | autocontrast, equalize | - | - |

    The translate range is in absolute pixels, as in the paper: on a 32x32 CIFAR
    image the largest shifts (±32) move the whole picture out of frame and leave a
    blank (black) image, and the average |shift| is 16 pixels, half the image.
    Uncovered pixels of every geometric operation are filled with the bottom of
    ``value_range`` (black), as PIL does.

    Source and official code differ in one place: the enhance operations
    (brightness, color, contrast, sharpness) take a factor ``0.01 + 1.99 s`` without a
    random sign in the official code (uniform over 31 values, 1.0 near the middle
    bin), whereas torchvision's ``TrivialAugmentWide`` uses ``1 ± 0.99 s``. This
    layer follows the official code.

    Args:
        value_range: ``(low, high)`` of the input pixel values, e.g. ``(0, 255)`` or
            ``(0, 1)``. Operations that work on 256 levels (posterize, solarize,
            equalize) rescale to 0-255 and back. Outputs are clipped to it. Images
            with values outside it raise ``ValueError`` where the values can be read:
            eagerly, and in a ``tf.data`` map or a ``tf.function`` that calls the
            layer directly (there as ``tf.errors.InvalidArgumentError`` when the batch
            is computed); inside a model's compiled step, under XLA or ``jax.jit``,
            they are clipped to it instead. Float images all in [0, 1] under
            ``(0, 255)`` give a ``UserWarning`` naming ``value_range`` (once per layer).
        num_magnitude_bins: number of strength levels; the paper uses 31 (levels 0-30).
        interpolation: ``"nearest"`` (PIL's default, as in the official code) or
            ``"bilinear"`` for the geometric operations.
        seed: integer seed; the same seed gives the same sequence of draws.
        data_format: ``"channels_last"`` or ``"channels_first"``; defaults to Keras'
            image data format. Images must have 1 or 3 channels on that axis: a shape
            that does not fit (e.g. ``(B, 3, H, W)`` under channels_last) raises
            ``ValueError`` naming ``data_format``.

    Input is one image (rank 3) or a batch (rank 4), integer or float; the output
    has the input's shape, dtype and value range (integer outputs are rounded).
    Inside a model the layer augments only when the model is called with
    ``training=True`` (as ``fit`` does); ``predict()``, ``model(x)`` and the
    ``serve`` function of ``model.export()`` get the identity. Called on its own,
    ``layer(x)`` and ``dataset.map(layer)`` augment. The layer runs
    in a ``tf.data`` pipeline under any Keras backend (see :func:`cifar_augment`)
    and inside a model, where it is built from ``keras.ops`` only and compiles
    with XLA (``jit_compile=True``) on TensorFlow and JAX, e.g. to augment on the
    accelerator.

    References:
        - Müller, S. G. & Hutter, F. (2021). TrivialAugment: Tuning-free Yet
          State-of-the-Art Data Augmentation. ICCV 2021. https://arxiv.org/abs/2103.10158.
          Official code: github.com/automl/trivialaugment (``aug_lib.py``).
    """


    def __init__(
        self,
        value_range: tuple[float, float] = (0, 255),
        num_magnitude_bins: int = 31,
        interpolation: str = "nearest",
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        self.value_range = check_value_range("value_range", value_range)
        self.num_magnitude_bins = check_int("num_magnitude_bins", num_magnitude_bins, 2)
        self.interpolation = check_choice("interpolation", interpolation, ("nearest", "bilinear"))
        if seed is not None:
            check_int("seed", seed)
        data_format = check_choice(
            "data_format",
            data_format or keras.config.image_data_format(),
            ("channels_last", "channels_first"),
        )
        super().__init__(**kwargs)
        self.data_format = data_format
        self.supports_jit = True
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)
        self._value_check = PixelValueCheck("TrivialAugment", self.value_range)
        self.built = True  # no weights to create: stateless_call works before a first call

    def __call__(self, inputs, training=None, **kwargs):
        images = inputs["images"] if isinstance(inputs, dict) else inputs
        self._check_shape(images)
        training = resolve_training(self, training)
        if keras.backend.backend() != "tensorflow" and _tf_ops.is_tf_graph_tensor(images):
            # A tf.data graph under another Keras backend: keras.ops cannot take
            # TensorFlow tensors, and Layer.__call__ would convert them with the
            # backend, so the layer computes with TensorFlow directly.
            self._images_dtype = keras.backend.standardize_dtype(images.dtype)
            return self._run(_tf_ops, inputs, training is not False)
        if training is not None:  # None: Keras takes it from the calling model, or the default
            kwargs["training"] = training
        return super().__call__(inputs, **kwargs)

    def call(self, inputs, training=None):
        # Default None, not True: Keras freezes a non-None default into a functional
        # model's graph when it is built, and the model would then augment whenever it
        # is called without a flag (model.export()'s serve). None reaches here only for
        # the layer called on its own (see tf_lropt.augment.serving), which augments.
        return self._run(keras.ops, inputs, training is not False)

    def _check_shape(self, images):
        shape = tuple(images.shape)
        if len(shape) not in (3, 4):
            raise ValueError(
                "Argument `images` must be a rank-3 image or a rank-4 batch; "
                f"received images with shape {shape}."
            )
        check_channel_axis(shape, self.data_format, "TrivialAugment")

    def _checked_values(self, xp, images, dtype, check_in_graph=False):
        """``images`` (originally of ``dtype``) with their values checked against
        ``value_range`` where they can be, clipped to it elsewhere (see
        :mod:`tf_lropt.augment._checks`)."""
        is_float = "float" in keras.backend.standardize_dtype(dtype)
        return self._value_check.apply(xp, images, is_float, check_in_graph)

    def _run(self, xp, inputs, training):
        images = inputs["images"] if isinstance(inputs, dict) else inputs
        self._check_shape(images)
        images = xp.convert_to_tensor(images)
        if training:
            # Checked on its own (eager, tf.data); inside a model's graph, clipped.
            images = self._checked_values(
                xp,
                images,
                self._images_dtype or images.dtype,
                check_in_graph=not is_called_by_another_layer(self),
            )
            batch = images if len(images.shape) == 4 else images[None]
            transformation = self._draw(xp, xp.shape(batch)[0])
            augmented = self._transform(xp, batch, transformation)
            augmented = augmented if len(images.shape) == 4 else augmented[0]
        else:
            augmented = images
        augmented = self._restore_dtype(xp, augmented, images)
        if isinstance(inputs, dict):
            return {**inputs, "images": augmented}
        return augmented

    def get_random_transformation(self, images, training=True, seed=None):
        """Per-image draws: ``operation`` index, strength ``level`` and ``sign`` (±1)."""
        if not training:
            return None
        images = images["images"] if isinstance(images, dict) else images
        batch = keras.ops.shape(images)[0] if len(images.shape) == 4 else 1
        return self._draw(keras.ops, batch, seed)

    def _draw(self, xp, batch, seed=None):
        if xp is keras.ops:
            seed = seed or self.generator

            def integers(maxval):
                return keras.random.randint((batch,), 0, maxval, seed=seed, dtype="int32")
        else:
            generator = self._tf_generator()

            def integers(maxval):
                return generator.uniform((batch,), 0, maxval, dtype="int32")

        operation = integers(len(OPERATIONS))
        level = integers(self.num_magnitude_bins)
        sign = 2 * integers(2) - 1
        return {"operation": operation, "level": level, "sign": sign}

    def _tf_generator(self):
        """A TensorFlow random generator for tf.data under another Keras backend."""
        generator = self.__dict__.get("_tf_random_generator")
        if generator is None:
            tf = _tf_ops._tf()
            with tf.init_scope():
                if self.seed is None:
                    generator = tf.random.Generator.from_non_deterministic_state()
                else:
                    generator = tf.random.Generator.from_seed(self.seed)
            # Not a Keras weight: kept out of the layer's variable tracking.
            object.__setattr__(self, "_tf_random_generator", generator)
        return generator

    def parameters(self, transformation: dict[str, Any], xp: Any = keras.ops) -> dict[str, Any]:
        """Maps a transformation's levels to each operation's parameter (see table)."""
        strength = xp.cast(transformation["level"], "float32") / float(
            self.num_magnitude_bins - 1
        )
        sign = xp.cast(transformation["sign"], "float32")
        enhance = ENHANCE_FACTOR_RANGE[0] + (
            ENHANCE_FACTOR_RANGE[1] - ENHANCE_FACTOR_RANGE[0]
        ) * strength
        # The small offset keeps floor() exact where the product is an integer.
        return {
            "shear": sign * MAX_SHEAR * strength,
            "translate": sign * xp.floor(MAX_TRANSLATE_PIXELS * strength + 1e-4),
            "rotate": sign * xp.floor(MAX_ROTATE_DEGREES * strength + 1e-4),
            "enhance_factor": enhance,
            "posterize": xp.floor(MAX_POSTERIZE_BITS_REMOVED * strength + 1e-4),
            "solarize": xp.floor(MAX_SOLARIZE_AMOUNT * strength + 1e-4),
        }

    def apply_operation(self, images: Any, operation: str, magnitude: Any) -> Any:
        """Applies one named operation with an explicit parameter to a batch.

        ``magnitude`` (a number, or one per image) is the operation's change from
        the identity, 0 meaning unchanged: the shear factor, the shift in pixels,
        the angle in degrees, ``factor - 1`` for the enhance operations, the bits
        removed by posterize and ``256 - threshold`` for solarize; it is ignored by
        identity, autocontrast and equalize. ``images`` is a float batch in this
        layer's ``value_range`` and ``data_format``; the result is float32.
        """
        check_choice("operation", operation, OPERATIONS)
        xp = keras.ops
        images = xp.convert_to_tensor(images)
        self._check_shape(images)
        images = self._to_working(xp, self._checked_values(xp, images, images.dtype))
        batch = xp.shape(images)[0]
        magnitude = xp.multiply(xp.ones((batch,), dtype="float32"), xp.cast(magnitude, "float32"))
        params = {key: magnitude * 0.0 for key in set(PARAMETER_OF.values())}
        params["enhance_factor"] = params["enhance_factor"] + 1.0
        key = PARAMETER_OF.get(operation)
        if key is not None:
            params[key] = params[key] + magnitude
        index = OPERATIONS.index(operation)
        operation_ids = xp.full((batch,), index, dtype="int32")
        return self._from_working(xp, self._augment(xp, images, operation_ids, params))

    def transform_images(self, images, transformation=None, training=True):
        """Applies drawn ``transformation`` (from :meth:`get_random_transformation`)."""
        xp = keras.ops
        images = xp.convert_to_tensor(images)
        if not training or transformation is None:
            return images
        self._check_shape(images)
        checked = self._checked_values(xp, images, images.dtype)
        return self._restore_dtype(xp, self._transform(xp, checked, transformation), images)

    def _transform(self, xp, images, transformation):
        working = self._to_working(xp, images)
        params = self.parameters(transformation, xp)
        augmented = self._augment(xp, working, transformation["operation"], params)
        return self._from_working(xp, augmented)

    def _to_working(self, xp, images):
        """To float32, channels_last, 0-255 scale."""
        images = xp.cast(images, "float32")
        if self.data_format == "channels_first":
            images = xp.transpose(images, (0, 2, 3, 1))
        low, high = self.value_range
        if (low, high) == (0, 255):  # each pass over the batch costs (TensorFlow does not fuse)
            return images
        return (images - low) * (255.0 / (high - low))

    def _from_working(self, xp, images):
        """Back to ``value_range`` and ``data_format``; clipped, as rounding (bilinear
        weights, the rescale) can overshoot the range by a few ulps."""
        low, high = self.value_range
        if (low, high) != (0, 255):
            images = images * ((high - low) / 255.0) + low
        images = xp.clip(images, low, high)
        if self.data_format == "channels_first":
            images = xp.transpose(images, (0, 3, 1, 2))
        return images

    def _restore_dtype(self, xp, images, original):
        dtype = self._images_dtype or keras.backend.standardize_dtype(original.dtype)
        if "int" in dtype and "int" not in keras.backend.standardize_dtype(images.dtype):
            low, high = self.value_range
            images = xp.clip(xp.round(images), low, high)
        return xp.cast(images, dtype)

    def _augment(self, xp, images, operation_ids, params):
        """Applies to each image the operation its id names, with its parameters.

        On TensorFlow tensors outside XLA (eager, ``tf.data``, a model without
        ``jit_compile``) the batch is split by operation group and each
        image pays for its own operation only; elsewhere (JAX, XLA) shapes must be
        static, so every group's operation runs on the whole batch and each image
        takes its own result.
        """
        group_ids = xp.take(xp.convert_to_tensor(_GROUP_OF_OPERATION, dtype="int32"), operation_ids)
        if xp is _tf_ops or _tf_ops.is_tf_tensor_outside_xla(images):
            return self._augment_by_group(images, group_ids, operation_ids, params)
        result = images
        for group_id, group in enumerate(_GROUPS):
            if group != "identity":
                candidate = self._apply_group(xp, group, images, operation_ids, params)
                chosen = xp.reshape(group_ids == group_id, (-1, 1, 1, 1))
                result = xp.where(chosen, candidate, result)
        return result

    def _augment_by_group(self, images, group_ids, operation_ids, params):
        """TensorFlow only: partition the batch by group, apply, stitch back in order."""
        tf = _tf_ops._tf()
        count = len(_GROUPS)
        positions = tf.dynamic_partition(tf.range(tf.shape(images)[0]), group_ids, count)
        image_parts = tf.dynamic_partition(images, group_ids, count)
        operation_parts = tf.dynamic_partition(operation_ids, group_ids, count)
        param_parts = {k: tf.dynamic_partition(v, group_ids, count) for k, v in params.items()}
        results = [
            self._apply_group(
                _tf_ops,
                group,
                image_parts[i],
                operation_parts[i],
                {k: parts[i] for k, parts in param_parts.items()},
            )
            for i, group in enumerate(_GROUPS)
        ]
        return tf.dynamic_stitch(positions, results)

    def _apply_group(self, xp, group, images, operation_ids, params):
        """One group's operation on ``images``, with their operation ids and parameters."""
        if group == "identity":
            return images
        if group == "geometric":

            def only_for(name, values):
                return xp.where(operation_ids == OPERATIONS.index(name), values, 0.0)

            shape = xp.shape(images)
            matrices = _image_ops.affine_matrices(
                xp,
                shear_x=only_for("shear_x", params["shear"]),
                shear_y=only_for("shear_y", params["shear"]),
                translate_x=only_for("translate_x", params["translate"]),
                translate_y=only_for("translate_y", params["translate"]),
                degrees=only_for("rotate", params["rotate"]),
                height=shape[1],
                width=shape[2],
            )
            return _image_ops.warp(xp, images, matrices, self.interpolation)
        operation = getattr(_image_ops, group)
        if group in ("autocontrast", "equalize"):
            return operation(xp, images)
        return operation(xp, images, params[PARAMETER_OF[group]])

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs, **kwargs):
        if isinstance(inputs, dict):
            return {k: keras.KerasTensor(v.shape, dtype=v.dtype) for k, v in inputs.items()}
        return keras.KerasTensor(inputs.shape, dtype=inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "value_range": list(self.value_range),
                "num_magnitude_bins": self.num_magnitude_bins,
                "interpolation": self.interpolation,
                "seed": self.seed,
                "data_format": self.data_format,
            }
        )
        return config
