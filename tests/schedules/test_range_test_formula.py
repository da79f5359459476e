"""The LR range test's rate in ``_formulas``: a float64 NumPy reference, exact ends, XLA."""

import math

import keras
import numpy as np
import pytest

from tests._xla import xla_compiled
from tf_lropt.schedules import _formulas

FLOAT32_EPS = 2.0**-23
REFERENCES = {"linear": np.linspace, "exponential": np.geomspace}
RANGES = [(1e-7, 10.0, 1000), (1e-3, 0.5, 20), (0.1, 0.2, 2), (1.0, 5.0, 5)]


def _rates(step, num_steps, min_lr, max_lr, mode):
    rate = _formulas.range_test(step, num_steps, min_lr, max_lr, mode)
    return keras.ops.convert_to_numpy(rate).astype(np.float64)


def _tolerance(mode, min_lr, max_lr):
    # float32 rounding of the product and the sum; the exponential's argument, up to half
    # of log(max_lr / min_lr), is rounded too, and exp turns that absolute error relative.
    spread = abs(math.log(max_lr / min_lr)) / 2 if mode == "exponential" else 0.0
    return FLOAT32_EPS * (2.0 + spread)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("mode", ["linear", "exponential"])
@pytest.mark.parametrize("min_lr, max_lr, num_steps", RANGES)
def test_rates_match_a_float64_reference_and_hit_both_ends(mode, min_lr, max_lr, num_steps):
    want = REFERENCES[mode](min_lr, max_lr, num_steps)
    got = _rates(np.arange(num_steps), num_steps, min_lr, max_lr, mode)
    np.testing.assert_allclose(got, want, rtol=_tolerance(mode, min_lr, max_lr))
    assert got[0] == np.float32(min_lr) and got[-1] == np.float32(max_lr)
    for step in (0, num_steps // 2, num_steps - 1):  # a scalar step, int or float
        assert _rates(step, num_steps, min_lr, max_lr, mode) == got[step]
        assert _rates(float(step), num_steps, min_lr, max_lr, mode) == got[step]


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("mode", ["linear", "exponential"])
def test_rates_compile_under_xla(mode):
    steps = np.arange(1000)
    eager = _rates(steps, 1000, 1e-6, 3.0, mode)
    compiled = xla_compiled(lambda step: _formulas.range_test(step, 1000, 1e-6, 3.0, mode))
    got = keras.ops.convert_to_numpy(compiled(keras.ops.convert_to_tensor(steps, "int32")))
    np.testing.assert_allclose(got, eager, rtol=_tolerance(mode, 1e-6, 3.0))


@pytest.mark.backend_agnostic
def test_unknown_mode_raises():
    with pytest.raises(ValueError, match=r"mode 'cosine'; valid: \('linear', 'exponential'\)"):
        _formulas.range_test(0, 10, 0.1, 1.0, "cosine")
