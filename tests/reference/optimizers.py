"""Float64 NumPy references of the optimizers, written from the papers' equations
and the authors' official code, independently of ``tf_lropt``.

Each reference is a small stateful object: ``step(weights, grads, lr)`` takes lists of
arrays and returns the new weights. Weight decay is the decoupled form Keras applies,
``w <- w - lr * weight_decay * w``. The step counter ``t`` starts at 1.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


class _Reference:
    n_slots = 2

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=None):
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.weight_decay = weight_decay or 0.0
        self.t = 0
        self.state: list[list[np.ndarray]] | None = None

    def step(self, weights, grads, lr):
        weights = [np.asarray(w, np.float64) for w in weights]
        grads = [np.asarray(g, np.float64) for g in grads]
        if self.state is None:
            self.state = [[np.zeros_like(w) for _ in range(self.n_slots)] for w in weights]
        self.t += 1
        out = []
        for w, g, slots in zip(weights, grads, self.state, strict=True):
            w = w - lr * self.weight_decay * w
            out.append(w - self._update(g, slots, float(lr)))
        return out

    def _update(self, g, slots, lr):
        raise NotImplementedError


def radam_rho(t: int, beta_2: float) -> float:
    """Length of the approximated simple moving average, eq. (11)-(12).

    ``1 - beta_2**t`` is taken as ``-expm1(t log beta_2)``: written as the difference,
    even float64 leaves ``rho_t`` only ~1e-8 relative at ``beta_2 = 0.99999``, not
    enough to check float32 to a few ulps.
    """
    rho_inf = 2.0 / (1.0 - beta_2) - 1.0
    log_power = t * math.log(beta_2)
    return rho_inf - 2.0 * t * math.exp(log_power) / -math.expm1(log_power)


def radam_r(t: int, beta_2: float) -> float:
    """Variance rectification term r_t (paper, Algorithm 2)."""
    rho_inf = 2.0 / (1.0 - beta_2) - 1.0
    rho = radam_rho(t, beta_2)
    return math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))


def radam_first_rectified_step(beta_2: float, sma_threshold: float) -> int | None:
    """The first ``t`` with ``rho_t >= sma_threshold`` (None if ``rho_inf`` never gets there)."""
    rho_inf = 2.0 / (1.0 - beta_2) - 1.0
    if rho_inf <= sma_threshold:
        return None
    t = 1
    while radam_rho(t, beta_2) < sma_threshold:
        t += 1
    return t


def radam_rho_exact(t: int, beta_2: float) -> Fraction:
    """``rho_t`` in exact rational arithmetic from the float64 ``beta_2``, to check that
    the float64 ``radam_rho`` (a difference of two numbers near ``2 / (1 - beta_2)``)
    is itself accurate."""
    beta = Fraction(beta_2)
    power = beta**t
    return 2 / (1 - beta) - 1 - 2 * t * power / (1 - power)


class AdaBoundReference(_Reference):
    """Official AdaBound: eta = clip(lr sqrt(bc2)/bc1 / (sqrt(v)+eps), lo, hi); w -= eta m."""

    def __init__(self, final_lr=0.1, gamma=1e-3, amsbound=False, base_lr=1e-3,
                 warmup_steps=0, warmup_upper_bound=None, **kwargs):
        super().__init__(**kwargs)
        self.final_lr, self.gamma, self.amsbound, self.base_lr = final_lr, gamma, amsbound, base_lr
        self.warmup_steps = warmup_steps
        self.warmup_upper_bound = final_lr if warmup_upper_bound is None else warmup_upper_bound
        self.n_slots = 3 if amsbound else 2

    def bounds(self, t: int, lr: float) -> tuple[float, float]:
        scale = lr / self.base_lr
        final_lr = self.final_lr * scale
        lower = final_lr * (1 - 1 / (self.gamma * t + 1))
        upper = final_lr * (1 + 1 / (self.gamma * t))
        if t <= self.warmup_steps:
            upper = self.warmup_upper_bound * scale
            lower = min(lower, upper)
        return lower, upper

    def _update(self, g, slots, lr):
        m, v = slots[0], slots[1]
        m[...] = self.beta_1 * m + (1 - self.beta_1) * g
        v[...] = self.beta_2 * v + (1 - self.beta_2) * g * g
        if self.amsbound:
            slots[2][...] = np.maximum(slots[2], v)
            v = slots[2]
        t = self.t
        step_size = lr * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        lower, upper = self.bounds(t, lr)
        return np.clip(step_size / (np.sqrt(v) + self.epsilon), lower, upper) * m


class RAdamReference(_Reference):
    """Official RAdam with the threshold and the pre-rectification step as options."""

    def __init__(self, sma_threshold=5.0, degenerate_to_sgd=True, **kwargs):
        super().__init__(**kwargs)
        self.sma_threshold, self.degenerate_to_sgd = sma_threshold, degenerate_to_sgd

    def _second_moment(self, g, m, slots):
        v = slots[1]
        v[...] = self.beta_2 * v + (1 - self.beta_2) * g * g
        return v

    def _update(self, g, slots, lr):
        m = slots[0]
        m[...] = self.beta_1 * m + (1 - self.beta_1) * g
        v = self._second_moment(g, m, slots)
        t = self.t
        m_hat = m / (1 - self.beta_1**t)
        if radam_rho(t, self.beta_2) >= self.sma_threshold:
            r = radam_r(t, self.beta_2)
            return lr * r * math.sqrt(1 - self.beta_2**t) * m_hat / (np.sqrt(v) + self.epsilon)
        if self.degenerate_to_sgd:
            return lr * m_hat
        return np.zeros_like(m)


class AdaBeliefReference(RAdamReference):
    """Official AdaBelief (adabelief-pytorch 0.2): eps inside s_t every step and
    outside the root; rectify=True takes RAdam's update with s_t for v_t."""

    def __init__(self, epsilon=1e-16, amsgrad=False, rectify=False, **kwargs):
        super().__init__(epsilon=epsilon, **kwargs)
        self.amsgrad, self.rectify = amsgrad, rectify
        self.n_slots = 3 if amsgrad else 2

    def _second_moment(self, g, m, slots):
        s = slots[1]
        s[...] = self.beta_2 * s + (1 - self.beta_2) * (g - m) ** 2 + self.epsilon
        if self.amsgrad:
            slots[2][...] = np.maximum(slots[2], s)
            return slots[2]
        return s

    def _update(self, g, slots, lr):
        if self.rectify:
            return super()._update(g, slots, lr)
        m = slots[0]
        m[...] = self.beta_1 * m + (1 - self.beta_1) * g
        s = self._second_moment(g, m, slots)
        t = self.t
        denom = np.sqrt(s) / math.sqrt(1 - self.beta_2**t) + self.epsilon
        return lr / (1 - self.beta_1**t) * m / denom


class RAdaBeliefWReference(AdaBeliefReference):
    """Source document 001, eq. (6), (16), (11)-(13), (19)-(20) with official eps placement."""

    def __init__(self, weight_decay=1e-2, **kwargs):
        super().__init__(rectify=True, weight_decay=weight_decay, **kwargs)
