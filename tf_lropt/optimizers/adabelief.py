"""AdaBelief (Zhuang et al., NeurIPS 2020)."""

from __future__ import annotations

import keras
from keras import ops

from tf_lropt._validation import check_bool
from tf_lropt.optimizers import _moments
from tf_lropt.optimizers._base import AdaptiveOptimizer
from tf_lropt.optimizers.radam import check_rectification


@keras.saving.register_keras_serializable(package="tf_lropt")
class AdaBelief(AdaptiveOptimizer):
    """AdaBelief: Adam whose second moment tracks the squared deviation of the
    gradient from its prediction ``m_t`` (the "belief"), not the squared gradient.

    As in the authors' official code, with ``t`` counting updates from 1:

    ```
    m_t = beta_1 m + (1 - beta_1) g
    s_t = beta_2 s + (1 - beta_2) (g - m_t)^2 + eps     (AMSGrad: s_t = max(s_hat, s_t))
    w -= lr / (1 - beta_1^t) * m_t / (sqrt(s_t) / sqrt(1 - beta_2^t) + eps)
    ```

    The residual uses the updated ``m_t``, and ``eps`` enters twice: into ``s_t``
    at every step (so it accumulates in the slot) and outside the square root.
    With ``rectify=True`` the update is RAdam's (see `RAdam`) with ``s_t`` in place of
    ``v_t``, again as in the official code: ``lr r_t sqrt(1 - beta_2^t) / (1 - beta_1^t)
    * m_t / (sqrt(s_t) + eps)`` once ``rho_t >= sma_threshold``, else ``lr m_t / (1 -
    beta_1^t)`` if ``degenerate_to_sgd``. (The official rectified branch ignores the
    AMSGrad maximum; here ``amsgrad=True`` uses it in both branches.)
    Arithmetic is float32 even for float16 variables: ``1e-16`` is 0 in float16 (under
    Keras' mixed precision the variables and slots are float32 anyway; a pure float16
    model keeps float16 slots).
    Weight decay is the base class' decoupled one (the official ``weight_decouple``).

    Args:
        learning_rate: float, `LearningRateSchedule` or callable. Defaults to 1e-3.
        beta_1, beta_2: decay rates of the moments, in [0, 1).
        epsilon: added to ``s_t`` and to its root. Defaults to 1e-16.
        amsgrad: keep the running maximum of ``s_t`` (a third slot).
        rectify: RAdam's rectification.
        sma_threshold, degenerate_to_sgd: as `RAdam`, used when ``rectify``.
        **kwargs: base-class arguments (weight_decay, clipnorm, use_ema, ...).

    References:
        Zhuang, Tang, Ding, Tatikonda, Dvornek, Papademetris, Duncan. "AdaBelief
        Optimizer: Adapting Stepsizes by the Belief in Observed Gradients",
        NeurIPS 2020. https://arxiv.org/abs/2010.07468
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-16,
                 amsgrad=False, rectify=False, sma_threshold=5.0, degenerate_to_sgd=True,
                 name="adabelief", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)
        self.amsgrad = check_bool("amsgrad", amsgrad)
        self.rectify = check_bool("rectify", rectify)
        self.sma_threshold, self.degenerate_to_sgd = check_rectification(
            sma_threshold, degenerate_to_sgd)

    def _slot_names(self):
        return ("momentum", "belief", "velocity_hat")[: 3 if self.amsgrad else 2]

    def update_step(self, gradient, variable, learning_rate):
        lr, g, t = self._prepare(gradient, variable, learning_rate)
        m_slot, s_slot, *s_hat = self._slots(variable)
        m = self._write(m_slot, _moments.moving_average(ops.cast(m_slot, g.dtype), g, self.beta_1))
        s = self._write(s_slot, _moments.belief_second_moment(
            ops.cast(s_slot, g.dtype), g, m, self.beta_2, self.epsilon))
        if self.amsgrad:
            s = self._write(s_hat[0], ops.maximum(ops.cast(s_hat[0], g.dtype), s))
        if self.rectify:
            adaptive, plain = _moments.rectified_step_sizes(
                lr, t, self.beta_1, self.beta_2, self.sma_threshold, self.degenerate_to_sgd)
            update = m * (adaptive / (ops.sqrt(s) + self.epsilon) + plain)
        else:
            # lr/(1-b1^t) / (sqrt(s)/sqrt(1-b2^t) + eps), with sqrt(1-b2^t) moved out.
            step_size, sqrt_correction_2 = _moments.adam_step_size(
                lr, t, self.beta_1, self.beta_2)
            update = m * step_size / (ops.sqrt(s) + self.epsilon * sqrt_correction_2)
        self.assign_sub(variable, ops.cast(update, variable.dtype))

    def get_config(self):
        config = super().get_config()
        config.update({"amsgrad": self.amsgrad, "rectify": self.rectify,
                       "sma_threshold": self.sma_threshold,
                       "degenerate_to_sgd": self.degenerate_to_sgd})
        return config
