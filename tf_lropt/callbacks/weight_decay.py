"""Switch off, or schedule, decoupled weight decay during training."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import keras

from tf_lropt import _validation as v
from tf_lropt.callbacks import _hyperparameters as hp
from tf_lropt.callbacks import _step_logs

# Noguchi & Yamauchi switch weight decay off after 75 % of the epochs.
WEIGHT_DECAY_OFF_FRACTION = 0.75

class WeightDecayScheduler(keras.callbacks.Callback):
    """Turns weight decay off after a fraction of the epochs, or scales it by a schedule.

    ``off_fraction=0.75`` (the default) keeps the optimizer's ``weight_decay`` for
    the first 75 % of the epochs and sets it to 0 from epoch
    ``ceil(0.75 * epochs)`` (0-based) on: the recipe of Noguchi & Yamauchi
    (weight decay off at 75 %, for robustness to the initial values). ``epochs`` is
    the ``epochs`` given to ``fit`` unless ``total_epochs`` is set (set it when
    training is split over several ``fit`` calls).

    ``schedule`` instead multiplies the weight decay before every batch by
    ``schedule(optimizer.iterations)`` (any ``LearningRateSchedule`` or callable of
    the step, e.g. ``Cosine(1.0, total_steps)``); pass ``off_fraction=None`` with it.

    Works for any optimizer using Keras' decoupled weight decay (``var -= var * weight_decay
    * lr``: AdamW, SGD/Adam with ``weight_decay=``, tf_lropt's optimizers); it must be
    constructed with a non-zero ``weight_decay``: ``keras.optimizers.SGD`` and ``Adam``
    default to ``weight_decay=None``, and with ``None`` or ``0`` ``on_train_begin`` raises a
    ``ValueError`` naming the argument (build e.g. ``SGD(0.1, momentum=0.9,
    weight_decay=5e-4)``, or use ``AdamW``). Keras keeps that as a Python float captured
    when the train step is compiled, so the value goes through a variable the compiled step
    reads (not saved with the optimizer's variables; the config keeps the float).
    On JAX, whose jitted train step passes only the optimizer's tracked variables and
    so freezes any other value at trace time, ``off_fraction`` sets the float itself and
    retraces the train step once, at the epoch where decay turns off; ``schedule`` (a
    new value every batch) needs TensorFlow and raises a ``ValueError`` on JAX.
    ``logs["weight_decay"]`` records the value in effect. With ``schedule`` and
    ``steps_per_execution=k > 1`` the multiplier changes only every ``k`` steps
    (the batch hooks run once per group); ``on_train_begin`` warns.

    Args:
        off_fraction: fraction of the epochs after which decay is off, in ``(0, 1]``.
        schedule: multiplier of the weight decay as a function of the step.
        total_epochs: total epochs for ``off_fraction``; default: ``fit``'s ``epochs``.

    References:
        - Noguchi, S. & Yamauchi, Y. (野口尚馬, 山内ゆかり; Nihon University, College of
          Industrial Technology). ハイパーパラメータに対してロバストかつ高精度な深層学習手法の提案
          (Proposal of a robust and accurate deep learning method for hyperparameters):
          weight decay switched off at 75 % of training.
        - Ilya Loshchilov & Frank Hutter, 2019. [Decoupled Weight Decay Regularization](
          https://arxiv.org/abs/1711.05101). ICLR 2019: scheduled decoupled decay.
    """

    def __init__(
        self,
        off_fraction: float | None = WEIGHT_DECAY_OFF_FRACTION,
        schedule: Callable[[Any], Any] | None = None,
        total_epochs: int | None = None,
    ):
        super().__init__()
        if (off_fraction is None) == (schedule is None):
            raise ValueError(
                "Give exactly one of `off_fraction` and `schedule`; received "
                f"off_fraction={off_fraction!r}, schedule={schedule!r}."
            )
        if schedule is not None and not callable(schedule):
            raise ValueError(
                f"Argument `schedule` must be callable; received schedule={schedule!r}."
            )
        self.off_fraction = (
            None
            if off_fraction is None
            else v.check_range("off_fraction", off_fraction, 0.0, 1.0, low_open=True)
        )
        self.schedule = schedule
        self.total_epochs = (
            None if total_epochs is None else v.check_int("total_epochs", total_epochs, 1)
        )
        self.history: dict[str, list[float]] = {"epoch": [], "weight_decay": []}
        self._variable: hp.HyperparameterVariable | None = None
        self._configured: float | None = None  # the optimizer's float during a fit
        self._epoch = 0

    @property
    def base_weight_decay(self) -> float:
        if self._configured is None:
            raise RuntimeError("WeightDecayScheduler is not attached to a running fit.")
        return self._configured

    def off_epoch(self, epochs: int) -> int:
        """First (0-based) epoch with weight decay off for a run of ``epochs`` epochs:
        ``ceil(off_fraction * epochs)``, with ``off_fraction`` the decimal it is written as
        (0.55 * 100 is 55.00000000000001 in floats, whose ceiling would be 56)."""
        return math.ceil(Fraction(str(float(self.off_fraction))) * epochs)

    def on_train_begin(self, logs: dict | None = None) -> None:
        optimizer = hp.target_optimizer(self.model.optimizer)
        weight_decay = getattr(optimizer, "weight_decay", None)
        if isinstance(weight_decay, hp.HyperparameterVariable):
            weight_decay = weight_decay.structural_value
        if not weight_decay:
            raise ValueError(
                "WeightDecayScheduler schedules the optimizer's decoupled weight decay, but "
                f"{type(optimizer).__name__} was built with weight_decay={weight_decay!r}. "
                "Build it with a non-zero weight_decay (e.g. "
                f"{type(optimizer).__name__}(..., weight_decay=5e-4), or use AdamW)."
            )
        self._configured = float(weight_decay)
        if keras.backend.backend() == "jax" and self.schedule is None:
            return  # _set changes the float and retraces (see the class docstring)
        if self.schedule is not None:
            _step_logs.warn_steps_per_execution(
                self.model, type(self).__name__, "weight decay"
            )
        self._variable, rebound = hp.bind(
            self.model.optimizer, "weight_decay", "WeightDecayScheduler(schedule=...)"
        )
        if rebound:
            self.model.make_train_function(force=True)

    def _in_effect(self) -> float:
        if self._variable is not None:
            return float(keras.ops.convert_to_numpy(self._variable))
        return float(hp.target_optimizer(self.model.optimizer).weight_decay or 0.0)

    def _set(self, value: float) -> None:
        if self._variable is not None:
            self._variable.assign(value)
        elif self._in_effect() != value:
            hp.target_optimizer(self.model.optimizer).weight_decay = value
            self.model.make_train_function(force=True)
        self.history["epoch"].append(self._epoch)
        self.history["weight_decay"].append(value)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch
        if self.off_fraction is not None:
            epochs = self.total_epochs or self.params.get("epochs")
            self._set(0.0 if epoch >= self.off_epoch(epochs) else self.base_weight_decay)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.schedule is not None:
            step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            multiplier = float(keras.ops.convert_to_numpy(self.schedule(step)))
            self._set(self.base_weight_decay * multiplier)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None and self._configured is not None:
            logs["weight_decay"] = self._in_effect()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._variable is not None:
            hp.unbind(self.model.optimizer, "weight_decay")
        elif self._configured is not None:  # the config keeps the configured float
            hp.target_optimizer(self.model.optimizer).weight_decay = self._configured
        self._variable = None
        self._configured = None
