"""RAdam (Liu et al., ICLR 2020)."""

from __future__ import annotations

import keras
from keras import ops

from tf_lropt._validation import check_bool, check_range
from tf_lropt.optimizers import _moments
from tf_lropt.optimizers._base import AdaptiveOptimizer


def check_rectification(sma_threshold, degenerate_to_sgd) -> tuple[float, bool]:
    """Validates RAdam's ``sma_threshold`` (>= 4, where ``r_t`` is real) and the flag."""
    return (check_range("sma_threshold", sma_threshold, 4.0, None),
            check_bool("degenerate_to_sgd", degenerate_to_sgd))


@keras.saving.register_keras_serializable(package="tf_lropt")
class RAdam(AdaptiveOptimizer):
    """Rectified Adam: Adam whose adaptive rate is switched on only once the variance
    of that rate is tractable, and then scaled by the rectification term ``r_t``.

    As in the authors' official code, with ``t`` counting updates from 1:

    ```
    m_t = beta_1 m + (1 - beta_1) g,   v_t = beta_2 v + (1 - beta_2) g^2
    rho_inf = 2 / (1 - beta_2) - 1,    rho_t = rho_inf - 2 t beta_2^t / (1 - beta_2^t)
    if rho_t >= sma_threshold:
        r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        w -= lr r_t sqrt(1 - beta_2^t) / (1 - beta_1^t) * m_t / (sqrt(v_t) + eps)
    elif degenerate_to_sgd:
        w -= lr m_t / (1 - beta_1^t)          (SGD with momentum on m_hat)
    ```

    ``eps`` is added to ``sqrt(v_t)`` of the uncorrected ``v_t``, the official
    placement. The official code tests ``rho_t >= 5``; the paper and Noguchi & Yamauchi
    (see ``RAdaBeliefW``) write ``rho_t > 4``: with ``beta_2 = 0.999``, ``rho_5 = 4.996``, so the
    first rectified step is 6 with ``sma_threshold=5`` and 5 with ``sma_threshold=4``.
    Before it, Noguchi & Yamauchi, PyTorch and optax take the SGD step
    (``degenerate_to_sgd=True``); the current official code skips the update
    (``degenerate_to_sgd=False``). Weight decay is the base class' decoupled one,
    ``w -= lr weight_decay w`` before every update. Keras applies it at the skipped
    steps too, while the official code decays only when it updates: with
    ``weight_decay`` and ``degenerate_to_sgd=False`` the weights here are decayed by
    ``(1 - lr weight_decay)`` once more for each skipped step (5 with the defaults),
    so that combination does not reproduce the official code.
    ``rho_t`` and ``r_t`` are computed without cancellation, so in float32 the first
    rectified step and ``r_t`` are the float64 ones at every ``beta_2``.

    Args:
        learning_rate: float, `LearningRateSchedule` or callable. Defaults to 1e-3.
        beta_1, beta_2: decay rates of the moments, in [0, 1).
        epsilon: added to ``sqrt(v_t)``. Defaults to 1e-8.
        sma_threshold: smallest ``rho_t`` that rectifies, >= 4. Defaults to 5.
        degenerate_to_sgd: SGD-with-momentum step before rectification (else none).
        **kwargs: base-class arguments (weight_decay, clipnorm, use_ema, ...).

    References:
        Liu, Jiang, He, Chen, Liu, Gao, Han. "On the Variance of the Adaptive Learning
        Rate and Beyond", ICLR 2020. https://arxiv.org/abs/1908.03265
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 sma_threshold=5.0, degenerate_to_sgd=True, name="radam", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)
        self.sma_threshold, self.degenerate_to_sgd = check_rectification(
            sma_threshold, degenerate_to_sgd)

    def update_step(self, gradient, variable, learning_rate):
        lr, g, t = self._prepare(gradient, variable, learning_rate)
        m_slot, v_slot = self._slots(variable)
        m = _moments.moving_average(ops.cast(m_slot, g.dtype), g, self.beta_1)
        v = _moments.moving_average(ops.cast(v_slot, g.dtype), ops.square(g), self.beta_2)
        m, v = self._write(m_slot, m), self._write(v_slot, v)
        adaptive, plain = _moments.rectified_step_sizes(
            lr, t, self.beta_1, self.beta_2, self.sma_threshold, self.degenerate_to_sgd)
        update = m * (adaptive / (ops.sqrt(v) + self.epsilon) + plain)
        self.assign_sub(variable, ops.cast(update, variable.dtype))

    def get_config(self):
        config = super().get_config()
        config.update({"sma_threshold": self.sma_threshold,
                       "degenerate_to_sgd": self.degenerate_to_sgd})
        return config
