"""RAdaBeliefW: AdaBelief + RAdam rectification + decoupled weight decay."""

from __future__ import annotations

import keras

from tf_lropt.optimizers.adabelief import AdaBelief


@keras.saving.register_keras_serializable(package="tf_lropt")
class RAdaBeliefW(AdaBelief):
    """The hyperparameter-robust optimizer of Noguchi & Yamauchi: AdamW's
    decoupled weight decay, RAdam's rectification and AdaBelief's second moment.

    With ``t`` counting updates from 1 and ``lambda = weight_decay``:

    ```
    m_t = beta_1 m + (1 - beta_1) g
    s_t = beta_2 s + (1 - beta_2) (g - m_t)^2 + eps
    w -= lr lambda w                                         (every step)
    if rho_t >= sma_threshold:
        w -= lr r_t sqrt(1 - beta_2^t) / (1 - beta_1^t) * m_t / (sqrt(s_t) + eps)
    elif degenerate_to_sgd:
        w -= lr m_t / (1 - beta_1^t)
    ```

    (``rho_t`` and ``r_t`` as in `RAdam`.) This is ``AdaBelief(rectify=True)`` with
    ``weight_decay=1e-2``, the source's setting. The decay is applied by the Keras base
    class as ``w -= w * weight_decay * lr``, which is the source's eq. (19)/(20) term
    ``eta lambda theta``. The source writes the test as ``rho_t > 4`` (printed as
    ``gamma_t > 4``) and the denominator as ``sqrt(v_hat + eps)``; we follow the official
    RAdam/AdaBelief code (``rho_t >= 5``, ``sqrt(s_t) + eps`` on the uncorrected
    ``s_t``), and ``sma_threshold=4.0`` gives the source's first rectified step.

    Args:
        learning_rate: float, `LearningRateSchedule` or callable. Defaults to 1e-3.
        beta_1, beta_2, epsilon, amsgrad, sma_threshold, degenerate_to_sgd: as `AdaBelief`.
        weight_decay: decoupled decay, scaled by the learning rate. Defaults to 1e-2.
        **kwargs: other base-class arguments (clipnorm, use_ema, ...).

    References:
        - Noguchi, S. & Yamauchi, Y. (野口尚馬, 山内ゆかり; Nihon University, College of
          Industrial Technology). ハイパーパラメータに対してロバストかつ高精度な深層学習手法の提案
          (Proposal of a robust and accurate deep learning method for hyperparameters):
          eq. (19)/(20).
        - Juntang Zhuang et al., 2020. [AdaBelief Optimizer: Adapting Stepsizes by the
          Belief in Observed Gradients](https://arxiv.org/abs/2010.07468). NeurIPS 2020.
        - Liyuan Liu et al., 2020. [On the Variance of the Adaptive Learning Rate and
          Beyond](https://arxiv.org/abs/1908.03265). ICLR 2020.
        - Ilya Loshchilov & Frank Hutter, 2019. [Decoupled Weight Decay Regularization](
          https://arxiv.org/abs/1711.05101). ICLR 2019.
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-16,
                 amsgrad=False, sma_threshold=5.0, degenerate_to_sgd=True, weight_decay=1e-2,
                 name="radabeliefw", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, rectify=True,
                         sma_threshold=sma_threshold, degenerate_to_sgd=degenerate_to_sgd,
                         name=name, weight_decay=weight_decay, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["rectify"]
        return config
