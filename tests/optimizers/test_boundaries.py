"""Regime boundaries checked by hand-computable numbers: RAdam's first rectified
step for both thresholds (and, in float32, at every beta_2 against float64),
AdaBound's bounds at t = 1, the warm-up cap against the lower bound, no NaN in the
first steps, and a schedule that starts at 0."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import ops

from tests._xla import xla_compiled
from tests.optimizers.cases import CASES, PARAMS
from tests.reference.optimizers import (
    radam_first_rectified_step,
    radam_r,
    radam_rho,
    radam_rho_exact,
)
from tf_lropt.optimizers import AdaBelief, AdaBound, RAdaBeliefW, RAdam, WarmupAdaBound, _moments

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
    # The reason the threshold is an option: rho_5 = 4.996 with beta_2 = 0.999, so the
    # package's rectification test passes at step 5 with threshold 4 but only from step 6
    # with threshold 5.
    def rectified(step, threshold):
        is_rectified, _ = _moments.rectification(
            ops.convert_to_tensor(float(step), "float32"), 0.999, threshold
        )
        return bool(ops.convert_to_numpy(is_rectified))

    assert [rectified(t, 5.0) for t in (4, 5, 6)] == [False, False, True]
    assert [rectified(t, 4.0) for t in (4, 5, 6)] == [False, True, True]


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


# beta_2 from Adam's 0.9 to 0.99999: above 0.9998 a float32 rho_t computed as
# rho_inf - 2 t beta_2^t / (1 - beta_2^t) rectified one step early (rho_4 = 4.0 and
# rho_5 = 5.0 for the exact 3.99975 and 4.9996 at 0.9999), and r_t was 2e-4 to 9e-3 off.
BETA_2_GRID = [0.9, 0.99, 0.999, 0.9998, 0.9999, 0.99995, 0.99999]
# Every early step, then steps spread to 3e6, where rho_t approaches rho_inf.
RECTIFICATION_STEPS = np.unique(np.concatenate(
    [np.arange(1, 3001), np.geomspace(3000, 3e6, 300).round()])).astype("float32")


@pytest.mark.parametrize("beta_2", BETA_2_GRID)
def test_float64_reference_rho_is_exact(beta_2):
    # radam_rho subtracts numbers near 2 / (1 - beta_2) too, but float64 has the digits.
    for t in [*range(1, 12), 50, 500]:
        assert radam_rho(t, beta_2) == pytest.approx(float(radam_rho_exact(t, beta_2)), rel=1e-9)


@pytest.mark.parametrize("xla", [False, True], ids=["eager", "xla"])
@pytest.mark.parametrize("sma_threshold", [4.0, 5.0])
@pytest.mark.parametrize("beta_2", BETA_2_GRID)
def test_rectification_scalars_match_float64(beta_2, sma_threshold, xla):
    """In float32, eager and XLA: the rectified steps are exactly the float64 ones, and
    r_t and the step sizes of both regimes are within 1e-6 relative (~8 ulps)."""
    lr, beta_1 = 1e-3, 0.9

    def scalars(step):
        is_rectified, r_t = _moments.rectification(step, beta_2, sma_threshold)
        adaptive, plain = _moments.rectified_step_sizes(
            lr, step, beta_1, beta_2, sma_threshold, degenerate_to_sgd=True)
        return is_rectified, r_t, adaptive, plain

    evaluate = xla_compiled(scalars) if xla else scalars
    is_rectified, r_t, adaptive, plain = (
        np.asarray(ops.convert_to_numpy(x), "float64")
        for x in evaluate(ops.convert_to_tensor(RECTIFICATION_STEPS)))
    t = RECTIFICATION_STEPS.astype("float64")
    rectified = np.array([radam_rho(int(i), beta_2) >= sma_threshold for i in t])
    np.testing.assert_array_equal(is_rectified.astype(bool), rectified)
    assert t[np.argmax(is_rectified)] == radam_first_rectified_step(beta_2, sma_threshold)
    r_want = np.array([radam_r(int(i), beta_2) if ok else 0.0
                       for i, ok in zip(t, rectified, strict=True)])
    np.testing.assert_allclose(r_t[rectified], r_want[rectified], rtol=1e-6)
    correction_1, correction_2 = 1 - beta_1**t, 1 - beta_2**t
    np.testing.assert_allclose(
        adaptive, np.where(rectified, lr * r_want * np.sqrt(correction_2) / correction_1, 0.0),
        rtol=1e-6, atol=0)
    np.testing.assert_allclose(plain, np.where(rectified, 0.0, lr / correction_1),
                               rtol=1e-6, atol=0)


@pytest.mark.parametrize("xla", [False, True], ids=["eager", "xla"])
@pytest.mark.parametrize("sma_threshold", [4.0, 5.0])
@pytest.mark.parametrize("beta_2", [0.999, 0.9998, 0.9999, 0.99999])
@pytest.mark.parametrize("case_id", ["radam_no_sgd", "adabelief_rectify", "radabeliefw"])
def test_first_rectified_steps_follow_float64(case_id, beta_2, sma_threshold, xla):
    """Whole optimizers in float32: no update before float64's first rectified step,
    then the same steps to 2e-6 relative."""
    if xla and keras.backend.backend() != "tensorflow":
        pytest.skip("a stateful optimizer.apply compiles with tf.function only")
    [case] = [c for c in CASES if c.id == case_id]
    overrides = {"beta_2": beta_2, "sma_threshold": sma_threshold, "degenerate_to_sgd": False}
    optimizer, reference = case.factory(**overrides), case.reference(**overrides)
    variable = keras.Variable(np.zeros(3, "float32"))
    apply = lambda g: optimizer.apply([g], [variable])  # noqa: E731
    apply = xla_compiled(apply) if xla else apply
    gradient = np.array([0.5, -2.0, 1e-3], "float32")
    first = radam_first_rectified_step(beta_2, sma_threshold)
    expected = [np.zeros(3)]
    for t in range(1, first + 4):
        apply(ops.convert_to_tensor(gradient))
        expected = reference.step(expected, [gradient], 1e-3)
        got = ops.convert_to_numpy(variable)
        assert np.any(got != 0.0) == (t >= first), f"step {t}, first rectified {first}"
        np.testing.assert_allclose(got, expected[0], rtol=2e-6, atol=0, err_msg=f"step {t}")


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
