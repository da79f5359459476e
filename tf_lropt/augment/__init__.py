"""Data augmentation for the robust training recipe: TrivialAugment and CutMix.

``TrivialAugment`` (TrivialAugment-Wide, Müller & Hutter 2021) and ``CutMix``
(Yun et al. 2019) are Keras preprocessing layers that work in a model and in
``tf.data``; ``cifar_augment`` composes them with the standard CIFAR pad-crop and
flip into a batched ``tf.data`` pipeline. Inside a model the layers augment only
when it trains; ``inference_model`` pins a model holding Keras' own random layers to
inference before ``export``.
"""

from tf_lropt.augment.cutmix import CutMix
from tf_lropt.augment.pipeline import cifar_augment
from tf_lropt.augment.serving import inference_model
from tf_lropt.augment.trivial_augment import OPERATIONS, TrivialAugment

__all__ = ["OPERATIONS", "CutMix", "TrivialAugment", "cifar_augment", "inference_model"]
