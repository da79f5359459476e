"""Cosine decay with a floor, linear warm-up and SGDR warm restarts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from tf_lropt import _validation as v
from tf_lropt.schedules import _formulas

_ARGS = (
    "initial_learning_rate",
    "decay_steps",
    "alpha",
    "warmup_steps",
    "warmup_start_lr",
    "restart_steps",
    "restart_mult",
    "restart_decay",
)


@keras.saving.register_keras_serializable(package="tf_lropt")
class Cosine(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine decay (Noguchi & Yamauchi, eq. 17; SGDR) with a floor, warm-up and warm restarts.

    ``decay_steps`` is the whole schedule, warm-up included. With
    ``W = warmup_steps`` and ``T = decay_steps - W``, at step ``i``::

        i <  W:  lr = warmup_start_lr + (initial_learning_rate - warmup_start_lr) * i / W
        i >= W:  t  = min(i - W, T)
                 lr = initial_learning_rate * ((1 - alpha) * (1 + cos(pi * t / T)) / 2 + alpha)

    so with ``alpha = 0`` and no warm-up this is ``eta_t = (1 + cos(t pi / T)) eta / 2``,
    and after ``decay_steps`` the rate holds at ``alpha * initial_learning_rate``.
    With ``restart_steps`` the cosine part restarts (SGDR, Loshchilov & Hutter):
    period ``k`` (from 0) lasts ``restart_steps * restart_mult**k`` steps and its
    height above the floor ``alpha * initial_learning_rate`` is scaled by
    ``restart_decay**k``; from ``decay_steps`` on the rate holds at the floor, so
    pick ``decay_steps`` at the end of a period.

    The cosine part takes the values of Keras' own ``CosineDecay`` /
    ``CosineDecayRestarts`` on the shifted step, computed as ``sin(pi r / 2)**2``
    of the fraction ``r`` of the period still ahead: Keras' ``(1 + cos)`` form
    cancels in float32 near each period's end (9 % off at the last of 5000 steps
    with ``alpha = 0``). This class adds the warm-up in front (Keras'
    ``warmup_target`` ramps *from* ``initial_learning_rate``, the reverse naming)
    and the end of the schedule. ``Cosine(lr, D, warmup_steps=W)``
    equals ``Warmup(Cosine(lr, D - W), W)``.

    Args:
        initial_learning_rate: peak rate, reached at the end of the warm-up.
        decay_steps: total length in steps, warm-up included, ``> warmup_steps``.
        alpha: floor as a fraction of ``initial_learning_rate``, in ``[0, 1]``.
        warmup_steps: linear warm-up length, ``>= 0``.
        warmup_start_lr: rate at step 0 of the warm-up, ``>= 0``.
        restart_steps: first SGDR period; ``None`` for a single decay.
        restart_mult: period growth factor per restart, ``>= 1``.
        restart_decay: peak factor per restart, in ``(0, 1]``.
        name: name of the schedule.

    Argument names:
        ``warmup_start_lr`` here and ``Warmup``'s ``start_lr`` are the same quantity, the
        rate at step 0 of a linear warm-up (``Cosine`` prefixes it because it has other
        rates; ``Warmup`` has only this one).

    References:
        - Noguchi, S. & Yamauchi, Y. (野口尚馬, 山内ゆかり; Nihon University, College of
          Industrial Technology). ハイパーパラメータに対してロバストかつ高精度な深層学習手法の提案
          (Proposal of a robust and accurate deep learning method for hyperparameters),
          equation (17): ``eta_t = (1 + cos(t pi / T)) eta / 2``.
        - Ilya Loshchilov & Frank Hutter, 2017. [SGDR: Stochastic Gradient Descent with
          Warm Restarts](https://arxiv.org/abs/1608.03983). ICLR 2017.
        - [Goyal et al., 2017. Accurate, Large Minibatch SGD](
          https://arxiv.org/abs/1706.02677): linear warm-up.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        warmup_steps: int = 0,
        warmup_start_lr: float = 0.0,
        restart_steps: int | None = None,
        restart_mult: float = 1.0,
        restart_decay: float = 1.0,
        name: str = "Cosine",
    ):
        super().__init__()
        self.initial_learning_rate = v.check_non_negative(
            "initial_learning_rate", initial_learning_rate
        )
        self.decay_steps = v.check_int("decay_steps", decay_steps, 1)
        self.alpha = v.check_range("alpha", alpha, 0.0, 1.0)
        self.warmup_steps = v.check_int("warmup_steps", warmup_steps, 0, self.decay_steps - 1)
        self.warmup_start_lr = v.check_non_negative("warmup_start_lr", warmup_start_lr)
        self.restart_steps = (
            None
            if restart_steps is None
            else v.check_int(
                "restart_steps", restart_steps, 1, self.decay_steps - self.warmup_steps
            )
        )
        self.restart_mult = v.check_range("restart_mult", restart_mult, 1.0, None)
        self.restart_decay = v.check_range("restart_decay", restart_decay, 0.0, 1.0, low_open=True)
        self.name = name

    def _evaluate(self, step: Any, peak: float, alpha: float, warmup_start: float) -> Any:
        return _formulas.cosine(
            step,
            peak,
            self.decay_steps,
            alpha=alpha,
            warmup_steps=self.warmup_steps,
            warmup_start=warmup_start,
            restart_steps=self.restart_steps,
            restart_mult=self.restart_mult,
            restart_decay=self.restart_decay,
        )

    def __call__(self, step: Any) -> Any:
        return self._evaluate(step, self.initial_learning_rate, self.alpha, self.warmup_start_lr)

    def momentum_schedule(self, base_momentum: float, max_momentum: float) -> Callable:
        """The same curve mirrored for momentum: ``base_momentum`` at the rate's peak,
        ``max_momentum`` at its floor and at the start of the warm-up."""
        ratio = max_momentum / base_momentum
        return lambda step: self._evaluate(step, base_momentum, ratio, max_momentum)

    def get_config(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (*_ARGS, "name")}
