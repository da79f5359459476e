"""Regime boundaries checked by hand-computable numbers: RAdam's first rectified
step for both thresholds, AdaBound's bounds at t = 1, the warm-up cap against the
lower bound, no NaN in the first steps, and a schedule that starts at 0."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import ops

from tests.optimizers.cases import CASES, PARAMS
from tests.reference.optimizers import radam_rho
from tf_lropt.optimizers import AdaBelief, AdaBound, RAdaBeliefW, RAdam, WarmupAdaBound

pytestmark = pytest.mark.backend_agnostic


def run_steps(optimizer, gradient, steps, start=0.0):
    """Applies the same gradient ``steps`` times; returns the weights after each step."""
    variable = keras.Variable(np.full(np.shape(gradient), start, "float32"))
    history = []
    for _ in range(steps):
        optimizer.apply([np.asarray(gradient, "float32")], [variable])
        history.append(ops.convert_to_numpy(variable).copy())
    return history


def test_rho_places_first_rectified_step_at_5_or_6():
    # The reason the threshold is an option: rho_5 = 4.996 with beta_2 = 0.999.
    assert 4.0 < radam_rho(5, 0.999) < 5.0 < radam_rho(6, 0.999)


@pytest.mark.parametrize("optimizer_class", [RAdam, AdaBelief, RAdaBeliefW])
@pytest.mark.parametrize(("threshold", "first_rectified"), [(5.0, 6), (4.0, 5)])
def test_first_rectified_step(optimizer_class, threshold, first_rectified):
    kwargs = {"rectify": True} if optimizer_class is AdaBelief else {}
    if optimizer_class is RAdaBeliefW:
        kwargs["weight_decay"] = None
    optimizer = optimizer_class(sma_threshold=threshold, degenerate_to_sgd=False, **kwargs)
    history = run_steps(optimizer, [0.5, -2.0], first_rectified)
    # No update at all before the first rectified step, then a step against the gradient.
    np.testing.assert_array_equal(history[first_rectified - 2], [0.0, 0.0])
    assert history[-1][0] < 0.0 < history[-1][1]


@pytest.mark.parametrize("threshold", [4.0, 5.0])
def test_steps_before_rectification_are_sgd_on_bias_corrected_momentum(threshold):
    # With a constant gradient g, m_hat = g exactly, so each early step moves lr * g.
    lr, g = 0.01, np.array([0.5, -2.0])
    history = run_steps(RAdam(learning_rate=lr, sma_threshold=threshold), g, 4)
    for t, weights in enumerate(history, start=1):
        np.testing.assert_allclose(weights, -t * lr * g, rtol=1e-5)


def adam_first_step_size(lr, g, beta_2=0.999, eps=1e-8):
    """lr sqrt(1 - beta_2) / (1 - beta_1) / (sqrt(v_1) + eps) at t = 1 with beta_1 = 0.9."""
    return lr * math.sqrt(1 - beta_2) / 0.1 / (math.sqrt(1 - beta_2) * abs(g) + eps)


def test_adabound_bounds_at_first_step():
    # At t = 1 with gamma = 1e-3 the band is [final_lr (1 - 1/1.001), final_lr * 1001].
    final_lr, gamma = 0.1, 1e-3
    lower, upper = final_lr * (1 - 1 / (gamma + 1)), final_lr * (1 + 1 / gamma)
    tiny, huge = 1e-7, 1e6
    assert adam_first_step_size(1e-3, tiny) > upper and adam_first_step_size(1e-3, huge) < lower
    [weights] = run_steps(AdaBound(), [tiny, huge, 1.0], 1)
    m_1 = 0.1 * np.array([tiny, huge, 1.0])  # (1 - beta_1) g
    expected = -np.array([upper, lower, adam_first_step_size(1e-3, 1.0)]) * m_1
    np.testing.assert_allclose(weights, expected, rtol=1e-5)


def test_warmup_cap_wins_over_lower_bound_then_adabound_takes_over():
    final_lr, gamma, cap, warmup = 0.1, 0.5, 0.01, 3
    optimizer = WarmupAdaBound(final_lr=final_lr, gamma=gamma, warmup_steps=warmup,
                               warmup_upper_bound=cap)
    g = np.array([1e-7, 1.0, 1e6])
    history = run_steps(optimizer, g, warmup + 2)
    previous = np.zeros(3)
    for t, weights in enumerate(history, start=1):
        m_t = (1 - 0.9**t) * g
        lower = final_lr * (1 - 1 / (gamma * t + 1))
        upper = final_lr * (1 + 1 / (gamma * t))
        if t <= warmup:  # lower (0.033 at t = 1) exceeds the cap: every element moves at cap
            assert lower > cap
            eta = np.full(3, cap)
        else:  # tiny gradient at the upper bound, huge one at the lower bound
            eta = np.array([upper, None, lower], dtype=object)
            eta[1] = 1e-3 * math.sqrt(1 - 0.999**t) / (1 - 0.9**t) / (
                math.sqrt(1 - 0.999**t) * 1.0 + 1e-8)
            eta = np.clip(eta.astype(float), lower, upper)
        np.testing.assert_allclose(weights - previous, -eta * m_t, rtol=1e-4)
        previous = weights


@pytest.mark.parametrize("case", PARAMS)
def test_no_nan_when_gradients_vanish_or_underflow(case):
    # Zero gradients, then gradients whose square underflows float32: v stays 0.
    optimizer = case.factory()
    variable = keras.Variable(np.ones((3,), "float32"))
    for t in range(8):
        g = np.zeros(3, "float32") if t < 4 else np.full(3, 1e-30, "float32")
        optimizer.apply([g], [variable])
    assert np.all(np.isfinite(ops.convert_to_numpy(variable)))


@pytest.mark.parametrize("case", [c for c in CASES if "adabound" in c.id], ids=lambda c: c.id)
def test_schedule_starting_at_zero_uses_its_peak_as_reference(case):
    peak, warmup = 1e-2, 20
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=100, warmup_target=peak, warmup_steps=warmup)
    optimizer = case.factory(learning_rate=schedule)
    assert optimizer.get_config()["base_lr"] == pytest.approx(peak)
    reference = case.reference(base_lr=peak)
    rng = np.random.default_rng(0)
    variable = keras.Variable(rng.normal(size=(5,)).astype("float32"))
    expected = [ops.convert_to_numpy(variable).astype(np.float64)]
    for t in range(60):
        g = rng.normal(size=(5,)).astype("float32")
        rate = float(ops.convert_to_numpy(schedule(t)))
        optimizer.apply([g], [variable])
        expected = reference.step(expected, [g], rate)
        np.testing.assert_allclose(ops.convert_to_numpy(variable), expected[0],
                                   rtol=1e-4, atol=1e-5, err_msg=f"step {t + 1}")


def test_schedule_without_peak_needs_base_lr():
    schedule = keras.optimizers.schedules.PolynomialDecay(0.0, 100, end_learning_rate=0.1)
    with pytest.raises(ValueError, match="base_lr"):
        AdaBound(learning_rate=schedule)
    assert AdaBound(learning_rate=schedule, base_lr=0.1).base_lr == 0.1


@pytest.mark.parametrize("optimizer_class", [AdaBelief, RAdaBeliefW])
def test_epsilon_survives_float16_variables(optimizer_class):
    # 1e-16 is 0 in float16: the arithmetic must run in float32 or 0/0 appears.
    optimizer = optimizer_class(learning_rate=1e-3, weight_decay=None)
    variable = keras.Variable(np.zeros((4,), "float16"), dtype="float16")
    for t in range(10):  # zero gradients first: then s_t is eps alone
        optimizer.apply([np.full((4,), 0.25 if t > 3 else 0.0, "float16")], [variable])
    weights = ops.convert_to_numpy(variable).astype("float32")
    assert np.all(np.isfinite(weights)) and np.all(np.abs(weights) < 0.1)
