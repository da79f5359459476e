"""CyclicalLearningRate and the named policies against the paper's formula."""

import keras
import numpy as np
import pytest

from tests.reference import schedules as ref
from tests.schedules.scale_functions import halve_every_other_cycle, slow_exponential
from tf_lropt.schedules import (
    CyclicalLearningRate,
    ExpRange,
    Triangular,
    Triangular2,
    cyclical_step_size,
    cyclical_total_steps,
)

pytestmark = pytest.mark.backend_agnostic


def rates(schedule, steps):
    return np.asarray(keras.ops.convert_to_numpy(schedule(np.asarray(steps, "int32"))), "float64")


def test_small_triangle_by_eye():
    schedule = Triangular(1.0, 5.0, 4)
    expected = [1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3, 4, 5, 4, 3, 2, 1]
    np.testing.assert_array_equal(rates(schedule, range(17)), expected)


def test_triangular2_halves_every_cycle_by_eye():
    got = rates(Triangular2(1.0, 5.0, 4), [4, 12, 20, 28, 8, 16])
    np.testing.assert_array_equal(got, [5.0, 3.0, 2.0, 1.5, 1.0, 1.0])


def test_asymmetric_cycle_by_eye():
    schedule = CyclicalLearningRate(1.0, 5.0, 2, step_size_down=4)
    expected = [1, 3, 5, 4, 3, 2, 1, 3, 5, 4, 3, 2, 1]
    np.testing.assert_array_equal(rates(schedule, range(13)), expected)


CASES = {
    "paper_triangular": (dict(base_lr=0.001, max_lr=0.006, step_size=2000), {}),
    "paper_triangular2": (
        dict(base_lr=0.001, max_lr=0.006, step_size=2000, mode="triangular2"),
        dict(mode="triangular2"),
    ),
    "paper_exp_range": (
        dict(base_lr=0.001, max_lr=0.006, step_size=2000, mode="exp_range", gamma=0.99994),
        dict(mode="exp_range", gamma=0.99994),
    ),
    "welch": (dict(base_lr=0.01, max_lr=0.1, step_size=700, shape="welch"), dict(shape="welch")),
    "hann": (dict(base_lr=0.01, max_lr=0.1, step_size=700, shape="hann"), dict(shape="hann")),
    "asymmetric_hann_triangular2": (
        dict(
            base_lr=0.0, max_lr=1.0, step_size=300, step_size_down=1100, shape="hann",
            mode="triangular2",
        ),
        dict(shape="hann", step_size_down=1100, mode="triangular2"),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_values_against_reference(name):
    kwargs, ref_kwargs = CASES[name]
    schedule = CyclicalLearningRate(**kwargs)
    steps = np.arange(0, 30001, 7)
    got = rates(schedule, steps)
    base, top, size = kwargs["base_lr"], kwargs["max_lr"], kwargs["step_size"]
    want = [ref.clr(int(i), base, top, size, **ref_kwargs) for i in steps]
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7 * top)


def test_paper_example_boundaries():
    schedule = CyclicalLearningRate(0.001, 0.006, 2000)
    np.testing.assert_allclose(rates(schedule, [0, 1000, 2000, 3000, 4000, 6000]),
                               [0.001, 0.0035, 0.006, 0.0035, 0.001, 0.006], rtol=1e-6)


@pytest.mark.parametrize(
    "scale_fn, scale_mode, ref_fn",
    [
        (halve_every_other_cycle, "cycle", lambda c: 0.5 ** ((c - 1) // 2)),
        (slow_exponential, "iterations", lambda i: np.exp(-i / 5000.0)),
    ],
)
def test_custom_scale_fn(scale_fn, scale_mode, ref_fn):
    schedule = CyclicalLearningRate(0.1, 1.0, 500, scale_fn=scale_fn, scale_mode=scale_mode)
    steps = np.arange(0, 12000, 13)
    want = [ref.clr(int(i), 0.1, 1.0, 500, scale_fn=ref_fn, scale_mode=scale_mode) for i in steps]
    np.testing.assert_allclose(rates(schedule, steps), want, rtol=2e-6)
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    np.testing.assert_allclose(rates(again, steps), want, rtol=2e-6)


def test_lambda_scale_fn_works_but_refuses_to_serialize():
    schedule = CyclicalLearningRate(0.1, 1.0, 5, scale_fn=lambda c: 1.0 / c)
    np.testing.assert_allclose(rates(schedule, [5, 15]), [1.0, 0.55], rtol=1e-6)
    with pytest.raises(ValueError, match="scale_fn.*register_keras_serializable"):
        schedule.get_config()


def unregistered_scale(cycle):
    return 1.0 / cycle


def test_unregistered_function_refuses_to_serialize():
    schedule = CyclicalLearningRate(0.1, 1.0, 5, scale_fn=unregistered_scale)
    with pytest.raises(ValueError, match="not a registered function"):
        keras.optimizers.schedules.serialize(schedule)


@pytest.mark.parametrize(
    "schedule",
    [
        Triangular(0.001, 0.006, 2000),
        Triangular2(0.001, 0.006, 2000),
        ExpRange(0.001, 0.006, 2000, gamma=0.99994),
        CyclicalLearningRate(0.0, 1.0, 10, mode="exp_range", gamma=0.9, shape="welch",
                             step_size_down=3),
    ],
)
def test_config_round_trip(schedule):
    config = keras.optimizers.schedules.serialize(schedule)
    again = keras.optimizers.schedules.deserialize(config)
    assert type(again) is type(schedule)
    assert again.get_config() == schedule.get_config()
    steps = np.arange(0, 9000, 37)
    np.testing.assert_array_equal(rates(again, steps), rates(schedule, steps))


def test_named_policies_equal_the_general_class():
    steps = np.arange(0, 20000, 11)
    pairs = [
        (Triangular2(0.001, 0.006, 2000), CyclicalLearningRate(0.001, 0.006, 2000, "triangular2")),
        (ExpRange(0.001, 0.006, 2000, 0.99994),
         CyclicalLearningRate(0.001, 0.006, 2000, "exp_range", gamma=0.99994)),
    ]
    for named, general in pairs:
        np.testing.assert_array_equal(rates(named, steps), rates(general, steps))


def test_float_and_int_steps_agree():
    schedule = Triangular2(0.001, 0.006, 2000)
    steps = np.arange(0, 20000, 101)
    as_float = keras.ops.convert_to_numpy(schedule(steps.astype("float32")))
    np.testing.assert_array_equal(rates(schedule, steps), as_float)
    assert float(schedule(4000)) == pytest.approx(0.001)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(step_size=0), "step_size"),
        (dict(step_size=-3), "step_size"),
        (dict(base_lr=-0.1), "base_lr"),
        (dict(base_lr=0.5, max_lr=0.1), "max_lr"),
        (dict(gamma=0.0), "gamma"),
        (dict(gamma=1.5), "gamma"),
        (dict(mode="cosine"), "mode"),
        (dict(shape="gauss"), "shape"),
        (dict(step_size_down=0), "step_size_down"),
        (dict(scale_fn=lambda c: 1.0, scale_mode="epoch"), "scale_mode"),
        (dict(scale_mode="cycle"), "scale_mode"),
        (dict(scale_fn=lambda c: 1.0, mode="exp_range"), "mode"),
        (dict(scale_fn=3.0), "scale_fn"),
    ],
)
def test_bad_input_names_argument_and_value(kwargs, argument):
    full = dict(base_lr=0.1, max_lr=1.0, step_size=10) | kwargs
    with pytest.raises(ValueError, match=f"`?{argument}`?"):
        CyclicalLearningRate(**full)


def test_unknown_mode_and_shape_list_valid_ones():
    with pytest.raises(ValueError, match="'triangular', 'triangular2', 'exp_range'.*mode='sine'"):
        CyclicalLearningRate(0.1, 1.0, 10, mode="sine")
    with pytest.raises(ValueError, match="'triangular', 'welch', 'hann'.*shape='box'"):
        CyclicalLearningRate(0.1, 1.0, 10, shape="box")


def test_step_size_helpers():
    # CIFAR-10 at batch 100: 500 iterations per epoch; the paper's 4 epochs -> 2,000.
    assert cyclical_step_size(50000, 100, 4) == 2000
    assert cyclical_step_size(50001, 100, 2) == 1002
    assert cyclical_total_steps(2000, 4) == 16000
    assert cyclical_total_steps(300, 3, step_size_down=700) == 3000
    schedule = Triangular2(0.001, 0.006, 2000)
    assert float(schedule(cyclical_total_steps(2000, 4))) == pytest.approx(0.001)
    with pytest.raises(ValueError, match="batch_size"):
        cyclical_step_size(100, 0, 2)
    with pytest.raises(ValueError, match="epochs_per_half_cycle"):
        cyclical_step_size(100, 10, 0)


@pytest.mark.parametrize("shape", ["triangular", "welch", "hann"])
def test_windows_keep_float32_precision_next_to_a_minimum(shape):
    """With base_lr = 0 the rate next to a minimum is the window alone: every step within
    1e-5 relative of float64. Computed from x = 1 - height, the windows were 7e-5
    (triangular, welch) and 2 % (hann, as (1 + cos(pi x)) / 2) off there."""
    schedule = CyclicalLearningRate(0.0, 1.0, 2000, step_size_down=3000, shape=shape)
    steps = np.arange(0, 10001)
    want = [ref.clr(int(i), 0.0, 1.0, 2000, shape=shape, step_size_down=3000) for i in steps]
    np.testing.assert_allclose(rates(schedule, steps), want, rtol=1e-5, atol=0)
