"""Constructor arguments: bad values fail at construction with a message naming
the argument, the value and the valid range; every argument survives get_config."""

from __future__ import annotations

import inspect
import math

import keras
import numpy as np
import pytest

from tests.optimizers.cases import CASES, PARAMS
from tf_lropt import optimizers
from tf_lropt.optimizers import (
    OPTIMIZER_CLASSES,
    AdaBelief,
    AdaBound,
    RAdaBeliefW,
    RAdam,
    WarmupAdaBound,
)

pytestmark = pytest.mark.backend_agnostic

ALL = list(OPTIMIZER_CLASSES)
ADABOUNDS = [AdaBound, WarmupAdaBound]
RECTIFIED = [RAdam, AdaBelief, RAdaBeliefW]

# (classes, argument, bad value, text the message must contain besides name and value)
BAD_INPUT = [
    (ALL, "learning_rate", -1e-3, "[0, inf)"),
    (ALL, "learning_rate", math.nan, "[0, inf)"),
    (ALL, "learning_rate", math.inf, "[0, inf)"),
    (ALL, "beta_1", 1.0, "[0, 1)"),
    (ALL, "beta_1", -0.1, "[0, 1)"),
    (ALL, "beta_2", 1.5, "[0, 1)"),
    (ALL, "beta_2", math.nan, "[0, 1)"),
    (ALL, "epsilon", -1e-8, "[0, inf)"),
    (ADABOUNDS, "final_lr", 0.0, "(0, inf)"),
    (ADABOUNDS, "final_lr", -0.1, "(0, inf)"),
    (ADABOUNDS, "gamma", 0.0, "(0, inf)"),
    (ADABOUNDS, "gamma", -1e-3, "(0, inf)"),
    (ADABOUNDS, "base_lr", 0.0, "(0, inf)"),
    (ADABOUNDS, "amsbound", "yes", "True or False"),
    ([WarmupAdaBound], "warmup_steps", -1, "[0, inf)"),
    ([WarmupAdaBound], "warmup_steps", 2.5, "integer"),
    ([WarmupAdaBound], "warmup_upper_bound", 0.0, "(0, inf)"),
    ([WarmupAdaBound], "warmup_upper_bound", -0.01, "(0, inf)"),
    (RECTIFIED, "sma_threshold", 3.0, "[4, inf)"),
    (RECTIFIED, "degenerate_to_sgd", 1, "True or False"),
    ([AdaBelief, RAdaBeliefW], "amsgrad", None, "True or False"),
    ([AdaBelief], "rectify", "no", "True or False"),
]


@pytest.mark.parametrize(
    ("classes", "argument", "value", "valid"),
    [pytest.param(*row, id=f"{row[1]}={row[2]!r}") for row in BAD_INPUT],
)
def test_bad_argument_raises_naming_argument_value_and_range(classes, argument, value, valid):
    for optimizer_class in classes:
        with pytest.raises(ValueError) as error:
            optimizer_class(**{argument: value})
        message = str(error.value)
        assert f"`{argument}`" in message and f"{argument}={value!r}" in message, message
        assert valid in message, message


@pytest.mark.parametrize("optimizer_class", ALL)
def test_learning_rate_accepts_float_schedule_and_callable(optimizer_class):
    # Each form gives the rate 1e-3 at the first step, so the first updates are identical,
    # non-zero and finite.
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 100, 0.9)
    updates = []
    for learning_rate in (1e-3, schedule, lambda: 1e-3):
        optimizer = optimizer_class(learning_rate=learning_rate)
        variable = keras.Variable(np.zeros((2,), "float32"))
        optimizer.apply([np.asarray([0.5, -2.0], "float32")], [variable])
        updates.append(keras.ops.convert_to_numpy(variable))
    assert np.all(np.isfinite(updates[0])) and np.all(updates[0] != 0.0), updates[0]
    assert updates[0][0] < 0.0 < updates[0][1]  # against the gradient
    np.testing.assert_array_equal(updates[1], updates[0])
    np.testing.assert_array_equal(updates[2], updates[0])


def test_public_names_are_exported():
    exported = [getattr(optimizers, name) for name in optimizers.__all__]
    classes = [c for c in exported if isinstance(c, type) and issubclass(c, keras.Optimizer)]
    assert sorted(c.__name__ for c in classes) == sorted(c.__name__ for c in ALL)
    assert {case.cls for case in CASES} == set(ALL)  # every optimizer has test cases
    for cls in ALL:
        assert keras.saving.get_registered_name(cls) == f"tf_lropt>{cls.__name__}"
        assert "References:" in cls.__doc__


@pytest.mark.parametrize("case", PARAMS)
def test_config_holds_every_argument_and_round_trips(case):
    optimizer = case.factory(learning_rate=2e-3)
    config = optimizer.get_config()
    own = set(inspect.signature(case.cls.__init__).parameters) - {"self", "kwargs"}
    assert own <= set(config), f"missing from get_config: {own - set(config)}"
    assert case.cls.from_config(config).get_config() == config


def test_radabeliefw_defaults_are_the_source_documents():
    config = RAdaBeliefW().get_config()
    assert config["weight_decay"] == 1e-2 and config["epsilon"] == 1e-16
    assert "rectify" not in config


@pytest.mark.parametrize("case", PARAMS)
def test_slots_are_exactly_the_moments(case):
    optimizer = case.factory()
    variables = [keras.Variable(keras.ops.zeros((3, 2))), keras.Variable(keras.ops.zeros((4,)))]
    optimizer.build(variables)
    slots = [v for v in optimizer.variables if v.shape != ()]
    second = "belief" if "belief" in case.id else "velocity"
    expected = ["momentum", second, "velocity_hat"][: case.n_slots]
    assert len(slots) == case.n_slots * len(variables)
    for name in expected:
        assert sum(v.name.endswith("_" + name) for v in slots) == len(variables), name
