"""CutMix: Keras' layer with a fixed alpha, an application probability and exact label areas."""

from __future__ import annotations

import keras

from tf_lropt._validation import check_int, check_range
from tf_lropt.augment._checks import check_channel_axis
from tf_lropt.augment._dtype import RemembersInputDtype
from tf_lropt.augment.serving import IdentityUnlessTraining

# keras.layers.CutMix arrived in Keras 3.9. On older Keras the package still imports
# (CutMix is optional); the class below then raises ImportError when constructed.
CUTMIX_MIN_KERAS = "3.9"
_KerasCutMix = getattr(keras.layers, "CutMix", None)


@keras.saving.register_keras_serializable(package="tf_lropt")
class CutMix(IdentityUnlessTraining, RemembersInputDtype, _KerasCutMix or keras.layers.Layer):
    """CutMix (Yun et al., 2019) with ``alpha`` and ``probability``, as the recipe uses it.

    A thin wrapper over ``keras.layers.CutMix``, which already does the work:
    ``lambda ~ Beta(alpha, alpha)`` per image, a box of sides ``sqrt(1 - lambda)``
    times the height and width placed uniformly *inside* the image, the box filled
    from another image of the batch (a random permutation) and the one-hot labels
    mixed as ``w * y_i + (1 - w) * y_j``. What it adds:

    - ``alpha`` as a number: Keras' ``factor`` draws alpha uniformly from a range
      each batch; here it is fixed (``factor=(alpha, alpha)``).
    - ``probability``: each batch is mixed with this probability and otherwise
      passed through, as in the official code (``cutmix_prob``, one draw per batch).
    - Label weights equal to the pasted pixel fraction: Keras weights the labels by
      the continuous box area ``(x1 - x0)(y1 - y0) / (H W)`` while it pastes the pixels
      whose integer coordinates fall in ``[x0, x1) x [y0, y1)``; the two differ by
      up to a row and a column. Here ``w = 1 - pasted pixels / (H W)`` exactly, the
      adjustment the official code makes after its box is cut.
    - The output keeps the input dtype (Keras returns float32).
    - A batch whose shape does not fit ``data_format`` (e.g. ``(B, 3, H, W)`` read as
      channels_last) raises ``ValueError`` instead of cutting boxes across channels.
    - Inside a model called without ``training=True`` (``model(x)``, an exported
      model's ``serve``) it is the identity, like ``Dropout``; Keras' layer mixes there.

    Difference from the official code: there the box centre is uniform over the
    image and the box is clipped at the border, so pasted areas are often smaller
    than ``1 - lambda``; Keras keeps the whole box inside the image.

    Labels must be one-hot (or soft) float vectors; call the layer on a dict
    ``{"images": x, "labels": y}`` with a batch of at least two images.

    Needs Keras >= 3.9 (``keras.layers.CutMix``); on older Keras the rest of the
    package works and constructing this layer raises ``ImportError``.

    Args:
        alpha: Beta(alpha, alpha) shape, in (0, 1] (Keras' bound); 1.0 (uniform
            lambda) is the paper's and the recipe's value.
        probability: chance that a batch is mixed, in [0, 1]; 1.0 in the recipe.
        seed: integer seed.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    References:
        - Yun, S., Han, D., Oh, S. J., Chun, S., Choe, J. & Yoo, Y. (2019). CutMix:
          Regularization Strategy to Train Strong Classifiers with Localizable Features.
          ICCV 2019. https://arxiv.org/abs/1905.04899. Official code:
          github.com/clovaai/CutMix-PyTorch.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        probability: float = 1.0,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        if _KerasCutMix is None:
            raise ImportError(
                f"tf_lropt.augment.CutMix needs Keras >= {CUTMIX_MIN_KERAS} "
                f"(keras.layers.CutMix); this environment has Keras {keras.__version__}. "
                f"Upgrade with: pip install 'keras>={CUTMIX_MIN_KERAS}'"
            )
        alpha = check_range("alpha", alpha, 0.0, 1.0, low_open=True)
        probability = check_range("probability", probability, 0.0, 1.0)
        if seed is not None:
            check_int("seed", seed)
        kwargs.pop("factor", None)
        super().__init__(factor=(alpha, alpha), seed=seed, data_format=data_format, **kwargs)
        self.alpha = alpha
        self.probability = probability

    def get_random_transformation(self, data, training=True, seed=None):
        if training:
            images = data["images"] if isinstance(data, dict) else data
            check_channel_axis(tuple(images.shape), self.data_format, "CutMix",
                               require_image_channels=False)
        transformation = super().get_random_transformation(data, training, seed)
        if transformation is None:
            return None
        xp = self.backend
        seed = seed or self._get_seed_generator(xp._backend)
        apply = xp.random.uniform((), 0.0, 1.0, seed=seed) < self.probability
        masks = xp.numpy.logical_and(transformation["batch_masks"], apply)
        spatial = (-2, -1) if self.data_format == "channels_first" else (-3, -2)
        pasted = xp.numpy.mean(xp.cast(masks, "float32"), axis=spatial)[:, 0]
        return {
            "permutation_order": transformation["permutation_order"],
            "batch_masks": masks,
            "mix_weight": 1.0 - pasted,
        }

    def transform_images(self, images, transformation=None, training=True):
        dtype = self._images_dtype or keras.backend.standardize_dtype(images.dtype)
        return self.backend.cast(super().transform_images(images, transformation, training), dtype)

    def get_config(self):
        config = super().get_config()
        config.pop("factor", None)
        config.update({"alpha": self.alpha, "probability": self.probability})
        return config
