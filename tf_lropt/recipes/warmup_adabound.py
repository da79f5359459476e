"""Warm-up AdaBound (Chiba Inst. of Tech.) with its warm-up counted in epochs."""

from __future__ import annotations

from typing import Any

import keras

from tf_lropt import _validation as v
from tf_lropt.recipes._base import Recipe, steps_per_epoch_of


class WarmupAdaBoundRecipe(Recipe):
    """``WarmupAdaBound`` with the warm-up given in epochs, as the paper counts it.

    The paper (Chiba Institute of Technology, see References) caps AdaBound's upper bound
    for the first 10, 20, 30, 40 or 50 epochs of a CIFAR-10 run and finds 10 and 20 better
    than AdaBound; the optimizer counts updates, so the recipe converts: ``warmup_steps =
    round(warmup_epochs * steps_per_epoch)``. The other defaults are AdaBound's (lr 1e-3,
    final_lr 0.1, gamma 1e-3); the cap defaults to ``final_lr``. See
    ``tf_lropt.optimizers.WarmupAdaBound`` for the update.

    Args:
        epochs: length of the run, ``>= 1``.
        steps_per_epoch: optimizer steps per epoch; or ``num_examples`` and ``batch_size``.
        num_examples, batch_size: for ``steps_per_epoch = ceil(num_examples / batch_size)``.
        warmup_epochs: epochs under the cap, in ``(0, epochs]`` (fractions allowed).
        learning_rate: Adam's rate, ``> 0``.
        final_lr: the rate both bounds converge to, ``> 0``.
        gamma: the bounds' convergence speed, ``> 0``.
        warmup_upper_bound: the cap during the warm-up; ``None`` uses ``final_lr``.

    References:
        - 行木大輝, 山口智 (Chiba Institute of Technology). 学習初期に学習率の分散を考慮した
          学習率の範囲を動的に制御する Adam (Adam controlling the range of the learning rate
          with the variance of the early learning stage).
        - Luo et al., "Adaptive Gradient Methods with Dynamic Bound of Learning Rate",
          ICLR 2019 (https://arxiv.org/abs/1902.09843).
    """

    def __init__(
        self,
        epochs: int,
        steps_per_epoch: int | None = None,
        *,
        num_examples: int | None = None,
        batch_size: int | None = None,
        warmup_epochs: float = 10,
        learning_rate: float = 1e-3,
        final_lr: float = 0.1,
        gamma: float = 1e-3,
        warmup_upper_bound: float | None = None,
    ):
        self.epochs = v.check_int("epochs", epochs, 1)
        self.steps_per_epoch = steps_per_epoch_of(steps_per_epoch, num_examples, batch_size)
        self.warmup_epochs = v.check_range("warmup_epochs", warmup_epochs, 0.0, float(epochs),
                                           low_open=True)
        self.learning_rate = v.check_positive("learning_rate", learning_rate)
        self.final_lr = v.check_positive("final_lr", final_lr)
        self.gamma = v.check_positive("gamma", gamma)
        self.warmup_upper_bound = (None if warmup_upper_bound is None
                                   else v.check_positive("warmup_upper_bound", warmup_upper_bound))

    @property
    def warmup_steps(self) -> int:
        return max(1, round(self.warmup_epochs * self.steps_per_epoch))

    def optimizer(self) -> keras.optimizers.Optimizer:
        """A new ``WarmupAdaBound`` with the warm-up in steps."""
        from tf_lropt.optimizers import WarmupAdaBound

        return WarmupAdaBound(self.learning_rate, final_lr=self.final_lr, gamma=self.gamma,
                              warmup_steps=self.warmup_steps,
                              warmup_upper_bound=self.warmup_upper_bound)

    def callbacks(self) -> list[keras.callbacks.Callback]:
        """None needed: the warm-up lives in the optimizer (for a uniform interface)."""
        return []

    def describe(self) -> dict[str, Any]:
        return {
            "optimizer": "WarmupAdaBound",
            "learning_rate": self.learning_rate,
            "final_lr": self.final_lr,
            "gamma": self.gamma,
            "warmup_epochs": self.warmup_epochs,
            "warmup_steps": self.warmup_steps,
            "warmup_upper_bound": (self.final_lr if self.warmup_upper_bound is None
                                   else self.warmup_upper_bound),
            "epochs": self.epochs,
            "steps_per_epoch": self.steps_per_epoch,
        }
