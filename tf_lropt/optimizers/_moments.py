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
    (``1 - 0.999**5`` is off by ~2e-5 relatively); this form keeps the relative error
    within a few float32 ulps at every step. That is enough for a bias correction,
    but not for RAdam's ``rho_t``, which subtracts two numbers near ``2 / (1 - beta)``;
    `rectification` computes it without that difference.
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


# Taylor coefficients of g(a) = 1/a - 1/expm1(a) = 1/2 - a/12 + a^3/720 - ... (Bernoulli
# numbers B_2k / (2k)!), in odd powers of a after the constant term. Up to a^9 the
# truncation error on [0, 1] is below 1e-9, under half a float32 ulp of g.
_G_SERIES = (1.0 / 12.0, 1.0 / 720.0, 1.0 / 30240.0, 1.0 / 1209600.0, 1.0 / 47900160.0)


def _inverse_minus_inverse_expm1(a):
    """``g(a) = 1/a - 1/expm1(a)`` for ``a > 0``, accurate to a few ulps in float32.

    Written as the difference, ``g`` loses ``log2(2 / a)`` bits for small ``a``
    (both terms are near ``1/a``, ``g`` is near 1/2); below ``a = 1`` it is taken from
    its Taylor series instead, above it the difference costs at most ~2 bits.
    """
    small = ops.minimum(a, 1.0)
    small_squared = ops.square(small)
    series = ops.zeros_like(a)
    for coefficient in reversed(_G_SERIES[1:]):
        series = coefficient - small_squared * series
    series = 0.5 - small * (_G_SERIES[0] - small_squared * series)
    large = ops.maximum(a, 1.0)
    return ops.where(a <= 1.0, series, 1.0 / large - 1.0 / ops.expm1(large))


def rectification(step, beta_2: float, sma_threshold: float):
    """RAdam's ``rho_t`` test and rectification term ``r_t``.

    ``rho_inf = 2 / (1 - beta_2) - 1``, ``rho_t = rho_inf - 2 t beta_2^t / (1 - beta_2^t)``,
    ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``.
    Returns ``(rho_t >= sma_threshold, r_t)``; ``r_t`` is clamped to a real number so
    that the branch not taken holds no NaN. ``beta_2`` is a Python float.

    Early on ``rho_t`` is about ``t`` while both terms of its definition are near
    ``2 / (1 - beta_2)``: in float32 the difference keeps ``rho_t`` to only ~1e-4 at
    ``beta_2 = 0.9999``, enough to rectify one step early. With ``a = -t log(beta_2)``,
    ``2 t beta_2^t / (1 - beta_2^t) = 2 t / expm1(a)`` and
    ``rho_t = (rho_inf - 2 / (-log beta_2)) + 2 t (1/a - 1/expm1(a))``: the constant is
    taken in float64 at trace time and ``1/a - 1/expm1(a)`` without cancellation, so
    ``rho_t`` and ``r_t`` keep float32 precision (PyTorch and the official code
    compute the scalars in Python float64).
    """
    rho_inf = 2.0 / (1.0 - beta_2) - 1.0
    if rho_inf <= 4.0:  # rho_t < rho_inf <= 4 <= sma_threshold: never rectified.
        never = ops.zeros_like(step)
        return ops.greater(never, 0.0), never
    rho_inf_factor = rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0))
    minus_log_beta = -math.log(beta_2)
    rho_offset = rho_inf - 2.0 / minus_log_beta
    rho_t = rho_offset + 2.0 * step * _inverse_minus_inverse_expm1(step * minus_log_beta)
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
