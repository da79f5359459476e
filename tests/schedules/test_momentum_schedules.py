"""momentum_schedule mirrors the rate: max momentum where the rate is lowest."""

import keras
import numpy as np
import pytest

from tf_lropt.schedules import Cosine, CyclicalLearningRate, OneCycle

pytestmark = pytest.mark.backend_agnostic

BASE_M, MAX_M = 0.8, 0.95


def values(fn, steps):
    return np.asarray(keras.ops.convert_to_numpy(fn(np.asarray(steps, "int32"))), "float64")


def mirrored(rate, low, high):
    """PyTorch's cyclical momentum: linear in the rate's height above its low end."""
    return MAX_M - (MAX_M - BASE_M) * (rate - low) / (high - low)


def test_cyclical_momentum_mirrors_the_rate_with_its_scale():
    schedule = CyclicalLearningRate(0.01, 0.05, 7, mode="triangular2", shape="welch",
                                    step_size_down=11)
    steps = np.arange(200)
    rates = values(schedule, steps)
    momenta = values(schedule.momentum_schedule(BASE_M, MAX_M), steps)
    np.testing.assert_allclose(momenta, mirrored(rates, 0.01, 0.05), atol=2e-6)
    assert momenta[0] == pytest.approx(MAX_M) and momenta[7] == pytest.approx(BASE_M)


def test_cosine_momentum_mirrors_warmup_decay_and_restarts():
    schedule = Cosine(0.1, 700, alpha=0.1, warmup_steps=50, warmup_start_lr=0.02,
                      restart_steps=100, restart_mult=2.0, restart_decay=0.5)
    steps = np.arange(0, 750)
    rates = values(schedule, steps)
    momenta = values(schedule.momentum_schedule(BASE_M, MAX_M), steps)
    warm = steps < 50
    np.testing.assert_allclose(momenta[warm], mirrored(rates[warm], 0.02, 0.1), atol=2e-6)
    np.testing.assert_allclose(momenta[~warm], mirrored(rates[~warm], 0.01, 0.1), atol=2e-6)
    assert momenta[50] == pytest.approx(BASE_M) and momenta[-1] == pytest.approx(MAX_M)


def test_one_cycle_momentum_follows_pytorch_phases():
    schedule = OneCycle(0.1, 200, pct_start=0.25)
    steps = np.arange(220)
    rates = values(schedule, steps)
    momenta = values(schedule.momentum_schedule(BASE_M, MAX_M), steps)
    rising = steps <= 49
    initial, final = schedule.initial_lr, schedule.final_lr
    np.testing.assert_allclose(momenta[rising], mirrored(rates[rising], initial, 0.1), atol=2e-6)
    np.testing.assert_allclose(momenta[~rising], mirrored(rates[~rising], final, 0.1), atol=2e-6)
