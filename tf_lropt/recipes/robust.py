"""The hyperparameter-robust recipe (Noguchi & Yamauchi, Nihon Univ.) as one object."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras

from tf_lropt import _validation as v
from tf_lropt.augment.pipeline import CROP_PADDING
from tf_lropt.callbacks.weight_decay import WEIGHT_DECAY_OFF_FRACTION, WeightDecayScheduler
from tf_lropt.recipes._base import Recipe, steps_per_epoch_of

if TYPE_CHECKING:
    import tensorflow as tf

OPTIMIZERS = ("RAdaBeliefW", "NAG", "Adam", "AdamW", "RAdam", "AdaBelief")
# The paper's settings: table 1 (NAG: lr 0.1, lambda 1e-4), table 2 (the adaptive
# optimizers at their best rate 0.01 with lambda 1e-2, Adam without decay) and table 3
# (RAdaBeliefW's best cell, lr 1e-2 with lambda 1e-2).
PAPER_LEARNING_RATE = {"NAG": 0.1, "Adam": 1e-2, "AdamW": 1e-2, "RAdam": 1e-2,
                       "AdaBelief": 1e-2, "RAdaBeliefW": 1e-2}
PAPER_WEIGHT_DECAY = {"NAG": 1e-4, "Adam": 0.0, "AdamW": 1e-2, "RAdam": 1e-2,
                      "AdaBelief": 1e-2, "RAdaBeliefW": 1e-2}
NAG_MOMENTUM = 0.9
# Table 1: the baseline, then one addition at a time (the four switches).
TABLE_1 = {
    "Baseline": dict(cosine=False, trivial_augment=False, cutmix=False, weight_decay_off=False),
    "+cosine decay": dict(cosine=True, trivial_augment=False, cutmix=False,
                          weight_decay_off=False),
    "+TrivialAugment": dict(cosine=True, trivial_augment=True, cutmix=False,
                            weight_decay_off=False),
    "+CutMix": dict(cosine=True, trivial_augment=True, cutmix=True, weight_decay_off=False),
    "+Weight Decay off": dict(cosine=True, trivial_augment=True, cutmix=True,
                              weight_decay_off=True),
}


def keras_weight_decay(optimizer: str, weight_decay: float | None) -> float | None:
    """Keras' decoupled ``weight_decay`` for the paper's lambda: NAG's coupled decay maps to
    ``lambda / (1 - momentum)``, the adaptive optimizers' is already decoupled; 0 is None."""
    if not weight_decay:
        return None
    return weight_decay / (1 - NAG_MOMENTUM) if optimizer == "NAG" else weight_decay


def table_2_optimizer(optimizer: str, learning_rate: Any,
                      weight_decay: float | None) -> keras.optimizers.Optimizer:
    """An optimizer of the paper's table 2 by name (``OPTIMIZERS``); ``learning_rate`` is a
    float or a schedule, ``weight_decay`` the paper's lambda (see ``keras_weight_decay``)."""
    from tf_lropt.optimizers import AdaBelief, RAdaBeliefW, RAdam

    v.check_choice("optimizer", optimizer, OPTIMIZERS)
    decay = keras_weight_decay(optimizer, weight_decay)
    if optimizer == "NAG":
        return keras.optimizers.SGD(learning_rate, momentum=NAG_MOMENTUM, nesterov=True,
                                    weight_decay=decay)
    classes = {"Adam": keras.optimizers.Adam, "AdamW": keras.optimizers.AdamW,
               "RAdam": RAdam, "AdaBelief": AdaBelief, "RAdaBeliefW": RAdaBeliefW}
    return classes[optimizer](learning_rate, weight_decay=decay)


class RobustRecipe(Recipe):
    """RAdaBeliefW, cosine decay, weight decay off at 75 %, crop, flip, TrivialAugment, CutMix.

    The recipe of Noguchi & Yamauchi, each part hyperparameter-free or fixed once:

    - optimizer: RAdaBeliefW (AdaBelief's second moment, RAdam's rectification,
      AdamW's decoupled weight decay), ``learning_rate=1e-2`` and ``weight_decay=1e-2``
      (table 3's best cell; tables 2-3 show it within about a point from 1e-3 to 1e-1);
    - ``cosine``: cosine decay to 0 over the whole run, ``eta_t = (1 + cos(pi t/T)) eta / 2``
      per step (equation 17), ``T = epochs * steps_per_epoch``; switched off, the baseline's
      step decay: x0.1 from step ``T // 2`` on and x0.01 from step ``3 * T // 4`` on (steps
      ``T // 2`` and ``3 * T // 4`` themselves already take the lowered rate; epochs 150 and
      225 of 300);
    - ``weight_decay_off``: ``WeightDecayScheduler`` sets the decay to 0 from epoch
      ``ceil(0.75 * epochs)`` on (after Gontijo-Lopes et al.);
    - augmentation: pad 4 black pixels and crop back, horizontal flip (the baseline's), then
      ``trivial_augment`` (TrivialAugment-Wide, nothing to tune) and ``cutmix`` (CutMix with
      alpha = probability = 1.0).

    The four switches are the paper's ablation (table 1: ``TABLE_1`` and :meth:`ablation`).
    ``optimizer`` picks any optimizer of table 2 (``"NAG"``, ``"Adam"``, ``"AdamW"``,
    ``"RAdam"``, ``"AdaBelief"``, ``"RAdaBeliefW"``) with that table's learning rate and
    weight decay as defaults. ``weight_decay`` is the paper's lambda. For the adaptive
    optimizers it is decoupled, ``w -= lr * lambda * w`` (equations 19-20). For NAG the paper
    adds ``lambda * w`` to the gradient (equation 18), which then passes through the
    momentum; Keras' SGD has only the decoupled form, whose steady-state shrinkage matches
    the coupled one at ``lambda / (1 - momentum)``, so NAG gets ``weight_decay = 1e-3`` in
    Keras for the paper's 1e-4.

    Use it with ``tf.data`` (:meth:`augment`, labels become one-hot, so train with
    ``CategoricalCrossentropy``) or, without TensorFlow (e.g. JAX on a GPU), with
    :meth:`augment_layers` at the front of the model and :meth:`cutmix_layer` on the batches::

        recipe = RobustRecipe(epochs=300, num_examples=50_000, batch_size=128)
        model.compile(optimizer=recipe.optimizer(), loss="categorical_crossentropy")
        model.fit(recipe.augment(train, num_classes=10), epochs=recipe.epochs,
                  callbacks=recipe.callbacks())

    Args:
        epochs: length of the run, ``>= 1``.
        steps_per_epoch: optimizer steps per epoch; or give ``num_examples`` (and
            ``batch_size``) for ``ceil(num_examples / batch_size)``.
        num_examples: training examples per epoch.
        batch_size: images per batch, 128 in the paper; :meth:`augment` batches with it.
        optimizer: one of ``OPTIMIZERS``.
        learning_rate: peak rate, ``> 0``; ``None`` takes ``PAPER_LEARNING_RATE[optimizer]``.
        weight_decay: the paper's lambda, ``>= 0``; ``None`` takes ``PAPER_WEIGHT_DECAY``.
        cosine, trivial_augment, cutmix, weight_decay_off: the ablation's switches.
        value_range: ``(low, high)`` of the pixel values, for TrivialAugment and the
            crop's black padding.
        seed: integer seed of every random augmentation.

    References:
        - Noguchi, S. & Yamauchi, Y. (Nihon University). ハイパーパラメータに対してロバストかつ
          高精度な深層学習手法の提案 (Proposal of a robust and accurate deep learning method
          for hyperparameters): tables 1-3.
        - Zhuang et al., "AdaBelief Optimizer", NeurIPS 2020; Liu et al., "On the Variance of
          the Adaptive Learning Rate and Beyond", ICLR 2020; Loshchilov & Hutter, "Decoupled
          Weight Decay Regularization", ICLR 2019 (https://arxiv.org/abs/1711.05101).
        - Müller & Hutter, "TrivialAugment", ICCV 2021 (https://arxiv.org/abs/2103.10158);
          Yun et al., "CutMix", ICCV 2019 (https://arxiv.org/abs/1905.04899).
        - Gontijo-Lopes et al., "Affinity and Diversity: Quantifying Mechanisms of Data
          Augmentation", 2020 (https://arxiv.org/abs/2002.08973): regularization turned off
          late in training.
    """

    def __init__(
        self,
        epochs: int,
        steps_per_epoch: int | None = None,
        *,
        num_examples: int | None = None,
        batch_size: int = 128,
        optimizer: str = "RAdaBeliefW",
        learning_rate: float | None = None,
        weight_decay: float | None = None,
        cosine: bool = True,
        trivial_augment: bool = True,
        cutmix: bool = True,
        weight_decay_off: bool = True,
        value_range: tuple[float, float] = (0, 255),
        seed: int | None = None,
    ):
        self.epochs = v.check_int("epochs", epochs, 1)
        self.batch_size = v.check_int("batch_size", batch_size, 1)
        self.steps_per_epoch = steps_per_epoch_of(steps_per_epoch, num_examples, batch_size)
        self.optimizer_name = v.check_choice("optimizer", optimizer, OPTIMIZERS)
        self.learning_rate = v.check_positive(
            "learning_rate", PAPER_LEARNING_RATE[optimizer] if learning_rate is None
            else learning_rate)
        self.weight_decay = v.check_non_negative(
            "weight_decay", PAPER_WEIGHT_DECAY[optimizer] if weight_decay is None
            else weight_decay)
        self.cosine = v.check_bool("cosine", cosine)
        self.trivial_augment = v.check_bool("trivial_augment", trivial_augment)
        self.cutmix = v.check_bool("cutmix", cutmix)
        self.weight_decay_off = v.check_bool("weight_decay_off", weight_decay_off)
        if cutmix:
            v.check_int("batch_size", batch_size, 2)  # CutMix mixes two images of a batch
        self.value_range = v.check_value_range("value_range", value_range)
        self.seed = None if seed is None else v.check_int("seed", seed)

    @classmethod
    def ablation(cls, epochs: int, steps_per_epoch: int | None = None, *,
                 optimizer: str = "NAG", **kwargs: Any) -> dict[str, RobustRecipe]:
        """Table 1's five configurations by row name: the baseline, then + cosine decay,
        + TrivialAugment, + CutMix, + weight decay off. The paper runs them with NAG
        (lr 0.1, lambda 1e-4); other arguments as the constructor's."""
        return {row: cls(epochs, steps_per_epoch, optimizer=optimizer, **switches, **kwargs)
                for row, switches in TABLE_1.items()}

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def step_decay_steps(self) -> tuple[int, int]:
        """The first steps of the baseline's lowered rates: ``(T // 2, 3 * T // 4)``."""
        return self.total_steps // 2, (self.total_steps * 3) // 4

    def learning_rate_schedule(self) -> keras.optimizers.schedules.LearningRateSchedule:
        """Cosine decay over the run, or (``cosine=False``) the baseline's step decay: x0.1
        from step ``T // 2`` on, x0.01 from step ``3 * T // 4`` on."""
        if self.cosine:
            from tf_lropt.schedules import Cosine

            return Cosine(self.learning_rate, self.total_steps)
        rate = self.learning_rate
        # PiecewiseConstantDecay keeps values[i] up to and including boundaries[i]; the
        # boundaries are the last steps at the old rate, one before the first lowered ones.
        boundaries = [first - 1 for first in self.step_decay_steps()]
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            boundaries, [rate, rate / 10, rate / 100])

    @property
    def keras_weight_decay(self) -> float | None:
        """The ``weight_decay`` the Keras optimizer gets (NAG: lambda / (1 - momentum))."""
        return keras_weight_decay(self.optimizer_name, self.weight_decay)

    def optimizer(self) -> keras.optimizers.Optimizer:
        """A new optimizer with the recipe's schedule inside."""
        return table_2_optimizer(self.optimizer_name, self.learning_rate_schedule(),
                                 self.weight_decay)

    def callbacks(self) -> list[keras.callbacks.Callback]:
        """``[WeightDecayScheduler]`` turning decay off at 75 % of ``epochs`` (or nothing).

        On JAX the scheduler sets the optimizer's float ``weight_decay`` to 0 at that epoch
        and retraces the train step once (see ``WeightDecayScheduler``).
        """
        if not (self.weight_decay_off and self.weight_decay):
            return []
        return [WeightDecayScheduler(off_fraction=WEIGHT_DECAY_OFF_FRACTION,
                                     total_epochs=self.epochs)]

    def augment(self, dataset: tf.data.Dataset, num_classes: int, *,
                drop_remainder: bool = True) -> tf.data.Dataset:
        """The training pipeline for ``tf.data``: pad-4 crop, flip, TrivialAugment, batching,
        CutMix (as switched), prefetch; see ``tf_lropt.augment.cifar_augment``.

        ``dataset`` holds unbatched ``(image, label)`` pairs (shuffle it first); the result
        gives float32 images in ``value_range`` and float32 one-hot (mixed) labels.
        """
        from tf_lropt.augment import cifar_augment  # TensorFlow is imported there

        return cifar_augment(dataset, num_classes=num_classes, batch_size=self.batch_size,
                             trivial_augment=self.trivial_augment, cutmix=self.cutmix,
                             value_range=self.value_range, seed=self.seed,
                             drop_remainder=drop_remainder)

    def augment_layers(self, image_size: tuple[int, int]) -> list[keras.layers.Layer]:
        """The per-image augmentations as Keras layers, for the front of a model.

        ``RandomTranslation`` by up to 4 pixels, filled black (the bottom of
        ``value_range``, as :meth:`augment` pads) with nearest rounding (the pad-4 crop; its
        shifts of exactly ±4 pixels come half as often), ``RandomFlip`` and
        ``TrivialAugment``. They act only in training, on any Keras backend, with no
        TensorFlow, and are the identity whenever the model runs without ``training=True``,
        so ``model.export()`` serves what ``predict()`` gives (the translation and flip are
        Keras' layers made so by ``tf_lropt.augment.serving``). CutMix also mixes the
        labels, which a model's layers never see: apply :meth:`cutmix_layer` to the batches.
        """
        if (not isinstance(image_size, tuple | list) or len(image_size) != 2
                or not all(isinstance(n, int) and n > 0 for n in image_size)):
            raise ValueError("Argument `image_size` must be (height, width), two positive "
                             f"integers; received image_size={image_size!r}.")
        from tf_lropt.augment import TrivialAugment
        from tf_lropt.augment.serving import RandomFlip, RandomTranslation

        height, width = image_size
        layers = [
            RandomTranslation(CROP_PADDING / height, CROP_PADDING / width,
                              fill_mode="constant", fill_value=float(self.value_range[0]),
                              interpolation="nearest", seed=self.seed),
            RandomFlip("horizontal", seed=self.seed),
        ]
        if self.trivial_augment:
            layers.append(TrivialAugment(value_range=self.value_range, seed=self.seed))
        return layers

    def cutmix_layer(self) -> keras.layers.Layer | None:
        """``CutMix(alpha=1.0, probability=1.0)`` for ``{"images", "labels"}`` batches (one-hot
        float labels), or ``None`` when switched off."""
        if not self.cutmix:
            return None
        from tf_lropt.augment import CutMix

        return CutMix(alpha=1.0, probability=1.0, seed=self.seed)

    def describe(self) -> dict[str, Any]:
        if self.cosine:
            schedule = f"cosine from {self.learning_rate:g} to 0 over {self.total_steps} steps"
        else:
            first, second = self.step_decay_steps()
            schedule = (f"{self.learning_rate:g}, x0.1 from step {first} on, x0.01 from step "
                        f"{second} on")
        callbacks = self.callbacks()
        augmentation = ["crop (pad 4)", "flip"]
        augmentation += ["TrivialAugment"] * self.trivial_augment
        augmentation += ["CutMix (alpha 1, probability 1)"] * self.cutmix
        return {
            "optimizer": self.optimizer_name,
            "learning_rate": self.learning_rate,
            "schedule": schedule,
            "weight_decay": self.weight_decay,
            "keras_weight_decay": self.keras_weight_decay,
            "weight_decay_off_from_epoch": (
                callbacks[0].off_epoch(self.epochs) if callbacks else None),
            "augmentation": " + ".join(augmentation),
            "epochs": self.epochs,
            "steps_per_epoch": self.steps_per_epoch,
            "batch_size": self.batch_size,
        }

