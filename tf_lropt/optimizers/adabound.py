"""AdaBound (Luo et al., ICLR 2019)."""

from __future__ import annotations

import keras
from keras import ops

from tf_lropt._validation import check_bool, check_positive
from tf_lropt.optimizers import _moments
from tf_lropt.optimizers._base import AdaptiveOptimizer

# Attributes under which a schedule keeps its highest rate, tried in order.
_PEAK_ATTRIBUTES = ("warmup_target", "max_lr", "maximal_learning_rate", "peak_learning_rate",
                    "initial_learning_rate")


def _schedule_peak(schedule) -> float:
    """A schedule's peak rate if it names one (a wrapper's inner schedule counts), else 0."""
    for name in _PEAK_ATTRIBUTES:
        value = getattr(schedule, name, None)
        if value is not None and float(ops.convert_to_numpy(value)) > 0.0:
            return float(ops.convert_to_numpy(value))
    inner = getattr(schedule, "schedule", None)
    if isinstance(inner, keras.optimizers.schedules.LearningRateSchedule):
        return _schedule_peak(inner)
    return 0.0


def resolve_base_lr(learning_rate, base_lr) -> float:
    """The rate that ``final_lr`` belongs to (the official code's initial ``lr``).

    ``base_lr`` if given; a float ``learning_rate`` itself; for a schedule its peak
    (a ``warmup_target``, ``max_lr`` or ``initial_learning_rate`` attribute, looking
    through warm-up wrappers) or else its value at step 0; for another callable its
    value now. A reference of 0 would divide by zero, so then ``base_lr`` must be given.
    """
    if base_lr is not None:
        return check_positive("base_lr", base_lr)
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        value = _schedule_peak(learning_rate) or float(ops.convert_to_numpy(learning_rate(0)))
    elif callable(learning_rate):
        value = float(ops.convert_to_numpy(learning_rate()))
    else:
        value = float(learning_rate)
    if not value > 0.0:
        raise ValueError(
            "Argument `base_lr` must be given (a number in (0, inf)) when the learning rate "
            f"starts at {value!r} and has no known peak; received base_lr=None."
        )
    return value


@keras.saving.register_keras_serializable(package="tf_lropt")
class AdaBound(AdaptiveOptimizer):
    """AdaBound: Adam whose per-parameter step size is clipped into a band that
    narrows to ``final_lr``, so it moves from Adam to SGD with momentum.

    As in the authors' official code, with ``t`` counting updates from 1:

    ```
    m_t = beta_1 m + (1 - beta_1) g
    v_t = beta_2 v + (1 - beta_2) g^2            (AMSBound: v_t = max(v_hat, v_t))
    eta_t = lr sqrt(1 - beta_2^t) / (1 - beta_1^t) / (sqrt(v_t) + eps)
    final = final_lr * lr / base_lr
    w -= clip(eta_t, final (1 - 1/(gamma t + 1)), final (1 + 1/(gamma t))) * m_t
    ```

    The clip acts on the bias-corrected step size and multiplies the *uncorrected*
    ``m_t``; ``eps`` is added to ``sqrt(v_t)`` of the uncorrected ``v_t``. The official
    code rescales ``final_lr`` by ``lr / base_lr`` so that a learning-rate schedule also
    moves the bounds; ``base_lr`` is the initial rate (see ``resolve_base_lr``: a
    schedule that starts at 0 uses its peak, or the ``base_lr`` argument).
    Weight decay is the base class' decoupled one (``w -= w * weight_decay * lr``),
    where the official code adds ``weight_decay * w`` to the gradient.

    Args:
        learning_rate: float, `LearningRateSchedule` or callable. Defaults to 1e-3.
        final_lr: the SGD rate both bounds converge to. Defaults to 0.1.
        gamma: convergence speed of the bounds. Defaults to 1e-3.
        beta_1, beta_2: decay rates of the moments, in [0, 1).
        epsilon: added to ``sqrt(v_t)``. Defaults to 1e-8.
        amsbound: keep the running maximum of ``v_t`` (a third slot).
        base_lr: rate that ``final_lr`` refers to; ``None`` derives it from
            ``learning_rate``.
        **kwargs: base-class arguments (weight_decay, clipnorm, use_ema, ...).

    Argument names:
        ``base_lr`` here is the reference rate that ``final_lr`` belongs to; in the
        cyclical schedules (``tf_lropt.schedules.CyclicalLearningRate``) ``base_lr`` is
        the cycle's lower bound. ``final_lr`` here is the SGD rate the bounds converge to;
        ``OneCycle.final_lr`` is the rate at the end of the cycle.

    References:
        Luo, Xiong, Liu, Sun. "Adaptive Gradient Methods with Dynamic Bound of
        Learning Rate", ICLR 2019. https://arxiv.org/abs/1902.09843
    """

    def __init__(self, learning_rate=1e-3, final_lr=0.1, gamma=1e-3, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, amsbound=False, base_lr=None, name="adabound",
                 **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)
        self.final_lr = check_positive("final_lr", final_lr)
        self.gamma = check_positive("gamma", gamma)
        self.amsbound = check_bool("amsbound", amsbound)
        self.base_lr = resolve_base_lr(learning_rate, base_lr)

    def _slot_names(self):
        return ("momentum", "velocity", "velocity_hat")[: 3 if self.amsbound else 2]

    def _bounds(self, step, final_lr):
        """Lower and upper bound of the step size at update ``step``."""
        return _moments.adabound_bounds(final_lr, self.gamma, step)

    def update_step(self, gradient, variable, learning_rate):
        lr, g, t = self._prepare(gradient, variable, learning_rate)
        m_slot, v_slot, *v_hat = self._slots(variable)
        m = _moments.moving_average(ops.cast(m_slot, g.dtype), g, self.beta_1)
        v = _moments.moving_average(ops.cast(v_slot, g.dtype), ops.square(g), self.beta_2)
        m, v = self._write(m_slot, m), self._write(v_slot, v)
        if self.amsbound:
            v = self._write(v_hat[0], ops.maximum(ops.cast(v_hat[0], g.dtype), v))
        step_size, _ = _moments.adam_step_size(lr, t, self.beta_1, self.beta_2)
        lower, upper = self._bounds(t, self.final_lr * (lr / self.base_lr))
        # max-then-min: where a bound crosses another (warm-up cap), the upper one wins.
        eta = ops.minimum(ops.maximum(step_size / (ops.sqrt(v) + self.epsilon), lower), upper)
        self.assign_sub(variable, ops.cast(eta * m, variable.dtype))

    def get_config(self):
        config = super().get_config()
        config.update({"final_lr": self.final_lr, "gamma": self.gamma,
                       "amsbound": self.amsbound, "base_lr": self.base_lr})
        return config
