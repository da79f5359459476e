"""Switch off, or schedule, decoupled weight decay during training."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from tf_lropt import _validation as v
from tf_lropt.callbacks import _hyperparameters as hp


class WeightDecayScheduler(keras.callbacks.Callback):
    """Turns weight decay off after a fraction of the epochs, or scales it by a schedule.

    ``off_fraction=0.75`` (the default) keeps the optimizer's ``weight_decay`` for
    the first 75 % of the epochs and sets it to 0 from epoch
    ``ceil(0.75 * epochs)`` (0-based) on: the second source document's recipe
    (weight decay off at 75 %, for robustness to the initial values). ``epochs`` is
    the ``epochs`` given to ``fit`` unless ``total_epochs`` is set (set it when
    training is split over several ``fit`` calls).

    ``schedule`` instead multiplies the weight decay before every batch by
    ``schedule(optimizer.iterations)`` (any ``LearningRateSchedule`` or callable of
    the step, e.g. ``Cosine(1.0, total_steps)``); pass ``off_fraction=None`` with it.

    Works for any optimizer using Keras' decoupled weight decay
    (``var -= var * weight_decay * lr``: AdamW, SGD/Adam with ``weight_decay=``,
    tf_lropt's optimizers); it must be constructed with a non-zero
    ``weight_decay``. Keras keeps that as a Python float captured when the train
    step is compiled, so the value goes through a variable the compiled step reads
    (not saved with the optimizer's variables; the config keeps the float).
    ``logs["weight_decay"]`` records the value in effect.

    Args:
        off_fraction: fraction of the epochs after which decay is off, in ``(0, 1]``.
        schedule: multiplier of the weight decay as a function of the step.
        total_epochs: total epochs for ``off_fraction``; default: ``fit``'s ``epochs``.

    References:
        - Source document 001 (Nihon Univ.): weight decay switched off at 75 % of training.
        - [Loshchilov & Hutter, 2019. Decoupled Weight Decay Regularization](
          https://arxiv.org/abs/1711.05101) (ICLR 2019): scheduled decoupled decay.
    """

    def __init__(
        self,
        off_fraction: float | None = 0.75,
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
        self._epoch = 0

    @property
    def base_weight_decay(self) -> float:
        if self._variable is None:
            raise RuntimeError("WeightDecayScheduler is not attached to a running fit.")
        return self._variable.structural_value

    def off_epoch(self, epochs: int) -> int:
        """First (0-based) epoch with weight decay off for a run of ``epochs`` epochs."""
        return int(-(-self.off_fraction * epochs // 1))

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._variable, rebound = hp.bind(
            self.model.optimizer, "weight_decay", "WeightDecayScheduler"
        )
        if rebound:
            self.model.make_train_function(force=True)

    def _set(self, value: float) -> None:
        self._variable.assign(value)
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
        if logs is not None and self._variable is not None:
            logs["weight_decay"] = float(keras.ops.convert_to_numpy(self._variable))

    def on_train_end(self, logs: dict | None = None) -> None:
        hp.unbind(self.model.optimizer, "weight_decay")
        self._variable = None
