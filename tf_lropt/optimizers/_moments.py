"""Formulas shared by the optimizers, written with ``keras.ops`` only.

Every function works on scalars or tensors of one float dtype; hyperparameters are
Python floats. Regime changes are expressed with ``ops.where`` so one traced graph
covers every step, and square roots only ever see non-negative arguments.
"""

from __future__ import annotations

import math

from keras import ops


def decay_complement(beta: float, step):
    """``1 - beta**step``, computed as ``-expm1(step * log(beta))``.

    With ``beta`` close to 1 the naive form loses most of its digits in float32
    (``1 - 0.999**5`` is off by ~2e-5 relatively); this form keeps the
    rectification threshold test of RAdam exact enough to place the first
    rectified step correctly.
    """
    if beta == 0.0:
        return ops.ones_like(step)
    # A beta cycled by a callback arrives as a variable, so the log is taken in-graph.
    log_beta = math.log(beta) if isinstance(beta, float) else ops.log(ops.cast(beta, step.dtype))
    return ops.negative(ops.expm1(step * log_beta))


def moving_average(average, value, beta: float):
    """``beta * average + (1 - beta) * value``."""
    return average + (value - average) * (1.0 - beta)


def belief_second_moment(belief, gradient, momentum, beta_2: float, epsilon: float):
    """AdaBelief's ``s_t = beta_2 s + (1 - beta_2)(g - m_t)^2 + eps`` (m_t already updated).

    ``eps`` goes into the average's target as ``eps / (1 - beta_2)``, the same number:
    written as a trailing ``+ eps``, XLA recomputes ``s_t`` inside the weight update
    from a copy of the old slot, 40% more memory traffic than Adam.
    """
    target = ops.square(gradient - momentum) + epsilon / (1.0 - beta_2)
    return moving_average(belief, target, beta_2)


def adam_step_size(learning_rate, step, beta_1: float, beta_2: float):
    """``lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`` and ``sqrt(1 - beta_2^t)``.

    The official Adam-family code divides the *uncorrected* moment by
    ``sqrt(v) + eps`` and folds the second bias correction into the step size.
    """
    sqrt_correction_2 = ops.sqrt(decay_complement(beta_2, step))
    return learning_rate * sqrt_correction_2 / decay_complement(beta_1, step), sqrt_correction_2


def rectification(step, beta_2: float, sma_threshold: float):
    """RAdam's ``rho_t`` test and rectification term ``r_t``.

    ``rho_inf = 2 / (1 - beta_2) - 1``, ``rho_t = rho_inf - 2 t beta_2^t / (1 - beta_2^t)``,
    ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``.
    Returns ``(rho_t >= sma_threshold, r_t)``; ``r_t`` is clamped to a real number so
    that the branch not taken holds no NaN.
    """
    rho_inf = 2.0 / (1.0 - beta_2) - 1.0
    # rho_t < rho_inf, so with rho_inf <= 4 the rectified regime is never reached.
    rho_inf_factor = rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0)) if rho_inf > 4.0 else 0.0
    one_minus_power = decay_complement(beta_2, step)
    rho_t = rho_inf - 2.0 * step * (1.0 - one_minus_power) / one_minus_power
    ratio = (rho_t - 4.0) * (rho_t - 2.0) * rho_inf_factor / ops.maximum(rho_t, 1e-6)
    return ops.greater_equal(rho_t, sma_threshold), ops.sqrt(ops.maximum(ratio, 0.0))


def rectified_step_sizes(
    learning_rate, step, beta_1: float, beta_2: float, sma_threshold: float, degenerate_to_sgd: bool
):
    """Scalar coefficients ``(adaptive, plain)`` of a rectified update.

    The update is ``m * (adaptive / (sqrt(v) + eps) + plain)``: in the rectified regime
    ``adaptive = lr r_t sqrt(1 - beta_2^t) / (1 - beta_1^t)`` and ``plain = 0``; before it,
    ``adaptive = 0`` and ``plain = lr / (1 - beta_1^t)`` (SGD with momentum on ``m_hat``)
    when ``degenerate_to_sgd``, else 0 (no update).
    """
    is_rectified, r_t = rectification(step, beta_2, sma_threshold)
    sgd_step = learning_rate / decay_complement(beta_1, step)
    adaptive = sgd_step * r_t * ops.sqrt(decay_complement(beta_2, step))
    zero = ops.zeros_like(sgd_step)
    plain = ops.where(is_rectified, zero, sgd_step if degenerate_to_sgd else zero)
    return ops.where(is_rectified, adaptive, zero), plain


def adabound_bounds(final_lr, gamma: float, step):
    """AdaBound's ``[final_lr (1 - 1/(gamma t + 1)), final_lr (1 + 1/(gamma t))]``.

    The lower bound is computed as ``final_lr gamma t / (gamma t + 1)``, the same number
    without the float32 cancellation of ``1 - 1/1.001`` (a 6e-5 relative error at t = 1).
    """
    gamma_t = gamma * step
    return final_lr * gamma_t / (gamma_t + 1.0), final_lr * (1.0 + 1.0 / gamma_t)
