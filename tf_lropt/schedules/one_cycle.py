"""Smith's one-cycle policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from tf_lropt import _validation as v
from tf_lropt.schedules import _formulas


@keras.saving.register_keras_serializable(package="tf_lropt")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """One cycle: cosine rise to ``max_lr``, then cosine fall far below the start.

    With ``initial = max_lr / div_factor`` and ``final = initial / final_div_factor``,
    ``p = pct_start * total_steps - 1`` and ``anneal(a, b, f) = b + (a - b)(1 + cos(pi f))/2``::

        i <= p:  lr = anneal(initial, max_lr, i / p)
        i >  p:  lr = anneal(max_lr, final, (i - p) / (total_steps - 1 - p))

    the phases and defaults of PyTorch's ``OneCycleLR`` (``anneal_strategy="cos"``,
    two phases). Steps at or past ``total_steps - 1`` hold ``final`` instead of
    raising as PyTorch does, so a resumed or slightly longer run does not crash.

    Args:
        max_lr: peak rate, ``> 0``.
        total_steps: length of the cycle in steps.
        pct_start: fraction of the steps spent rising, in ``(0, 1)``; the rise
            must last at least 2 steps and the fall at least 1.
        div_factor: ``initial = max_lr / div_factor``, ``>= 1``.
        final_div_factor: ``final = initial / final_div_factor``, ``>= 1``.
        name: name of the schedule.

    Argument names:
        ``max_lr`` is the peak, as in ``CyclicalLearningRate``. The end rate is the
        property ``final_lr = max_lr / div_factor / final_div_factor``, not an argument;
        ``AdaBound(final_lr=...)`` is a different quantity, the SGD rate its bounds
        converge to.

    References:
        - [Smith & Topin, 2017. Super-Convergence: Very Fast Training of Neural
          Networks Using Large Learning Rates](https://arxiv.org/abs/1708.07120).
        - [Smith, 2018. A disciplined approach to neural network hyper-parameters](
          https://arxiv.org/abs/1803.09820).
    """

    def __init__(
        self,
        max_lr: float,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        name: str = "OneCycle",
    ):
        super().__init__()
        self.max_lr = v.check_positive("max_lr", max_lr)
        self.total_steps = v.check_int("total_steps", total_steps, 3)
        self.pct_start = v.check_range(
            "pct_start", pct_start, 0.0, 1.0, low_open=True, high_open=True
        )
        rise_end = self.pct_start * self.total_steps - 1.0
        if rise_end < 1.0 or rise_end >= self.total_steps - 1.0:
            raise ValueError(
                "Arguments `pct_start` and `total_steps` leave a rise or fall shorter than one "
                f"step; received pct_start={pct_start!r}, total_steps={total_steps!r} "
                f"(need 2 <= pct_start * total_steps < total_steps)."
            )
        self.div_factor = v.check_range("div_factor", div_factor, 1.0, None)
        self.final_div_factor = v.check_range("final_div_factor", final_div_factor, 1.0, None)
        self.name = name

    @property
    def initial_lr(self) -> float:
        return self.max_lr / self.div_factor

    @property
    def final_lr(self) -> float:
        return self.initial_lr / self.final_div_factor

    def __call__(self, step: Any) -> Any:
        return _formulas.one_cycle(
            step, self.total_steps, self.pct_start, self.initial_lr, self.max_lr, self.final_lr
        )

    def momentum_schedule(self, base_momentum: float, max_momentum: float) -> Callable:
        """Momentum annealed inversely, ``max -> base -> max``, as PyTorch's OneCycleLR."""
        return lambda step: _formulas.one_cycle(
            step, self.total_steps, self.pct_start, max_momentum, base_momentum, max_momentum
        )

    def get_config(self) -> dict[str, Any]:
        keys = ("max_lr", "total_steps", "pct_start", "div_factor", "final_div_factor", "name")
        return {k: getattr(self, k) for k in keys}
