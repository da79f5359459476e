"""AdaBound with a warm-up upper bound (行木 & 山口, Chiba Institute of Technology)."""

from __future__ import annotations

import keras
from keras import ops

from tf_lropt._validation import check_int, check_positive
from tf_lropt.optimizers.adabound import AdaBound


@keras.saving.register_keras_serializable(package="tf_lropt")
class WarmupAdaBound(AdaBound):
    """AdaBound whose upper bound is a small fixed cap during a warm-up.

    AdaBound's upper bound ``final_lr (1 + 1/(gamma t))`` is about 100 at ``t = 1`` with
    the defaults, so the first updates are unbounded Adam steps, which the RAdam
    analysis blames for the high variance of early adaptive rates. Here, for
    ``t = 1 .. warmup_steps`` the step size ``lr sqrt(1 - beta_2^t)/(1 - beta_1^t) /
    (sqrt(v_t) + eps)`` is clipped to ``[lower_t, cap]`` with
    ``cap = warmup_upper_bound * lr / base_lr``; the cap is hard: where AdaBound's lower
    bound exceeds it, the cap wins. From ``t = warmup_steps + 1`` on the update is
    exactly ``AdaBound`` (see its docstring for the equations).

    The paper counts the warm-up in epochs (10 to 50 on CIFAR-10):
    use ``warmup_steps = warmup_epochs * steps_per_epoch``. It writes the bounds with
    ``(1 - beta)`` where the official AdaBound code has ``gamma`` (equal at the
    defaults, ``gamma = 1 - beta_2 = 1e-3``) and Adam's step without bias corrections
    as ``m / sqrt(s + eps)``; this class follows the official AdaBound code. Like
    ``final_lr``, the cap is rescaled by ``lr / base_lr`` (a factor of 1 for a
    constant rate) so that a schedule moves all bounds together.

    Args:
        learning_rate: float, `LearningRateSchedule` or callable. Defaults to 1e-3.
        final_lr: the SGD rate both bounds converge to. Defaults to 0.1.
        gamma: convergence speed of the bounds. Defaults to 1e-3.
        beta_1: decay rate of the first moment, in [0, 1). Defaults to 0.9.
        beta_2: decay rate of the second moment, in [0, 1). Defaults to 0.999.
        epsilon: added to ``sqrt(v_t)``. Defaults to 1e-8.
        amsbound: keep the running maximum of ``v_t`` (a third slot).
        warmup_steps: number of updates under the cap, >= 0 (0 is AdaBound).
        warmup_upper_bound: the cap, > 0; ``None`` uses ``final_lr``.
        base_lr: rate that ``final_lr`` and the cap refer to; ``None`` derives it from
            ``learning_rate`` (a reference rate, not a cycle's lower bound as in the
            cyclical schedules).
        name: the optimizer's name. Defaults to ``"warmup_adabound"``.
        **kwargs: base-class arguments (weight_decay, clipnorm, use_ema, ...).

    References:
        - 行木大輝, 山口智 (Chiba Institute of Technology). 学習初期に学習率の分散を考慮した
          学習率の範囲を動的に制御する Adam (Adam controlling the range of the learning rate
          with the variance of the early learning stage).
        - Liangchen Luo, Yuanhao Xiong, Yan Liu & Xu Sun, 2019. [Adaptive Gradient Methods
          with Dynamic Bound of Learning Rate](https://arxiv.org/abs/1902.09843). ICLR 2019.
    """

    def __init__(self, learning_rate=1e-3, final_lr=0.1, gamma=1e-3, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, amsbound=False, warmup_steps=1000,
                 warmup_upper_bound=None, base_lr=None, name="warmup_adabound", **kwargs):
        super().__init__(learning_rate, final_lr, gamma, beta_1, beta_2, epsilon, amsbound,
                         base_lr, name, **kwargs)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, low=0)
        if warmup_upper_bound is not None:
            warmup_upper_bound = check_positive("warmup_upper_bound", warmup_upper_bound)
        self.warmup_upper_bound = warmup_upper_bound

    def _bounds(self, step, final_lr):
        lower, upper = super()._bounds(step, final_lr)
        cap_fraction = 1.0 if self.warmup_upper_bound is None else (
            self.warmup_upper_bound / self.final_lr)
        in_warmup = ops.less_equal(step, float(self.warmup_steps))
        return lower, ops.where(in_warmup, final_lr * cap_fraction, upper)

    def get_config(self):
        config = super().get_config()
        config.update({"warmup_steps": self.warmup_steps,
                       "warmup_upper_bound": self.warmup_upper_bound})
        return config
