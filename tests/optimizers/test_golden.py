"""Every optimizer configuration against its float64 NumPy reference.

The table in ``cases.py`` crossed with hyperparameter sets that reach every regime:
weight decay, other betas, a large epsilon with tiny gradients (where the epsilon
placement decides the step), both RAdam thresholds, warm-up crossing its end. Each
run is 200 steps on three tensors of different shapes; the float32 weights must
follow the float64 reference at every step.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tests.optimizers.cases import PARAMS

SHAPES = [(11,), (4, 6), (2, 3, 5)]
STEPS = 200
TF_BACKEND = keras.backend.backend() == "tensorflow"

HYPERPARAMETER_SETS = {
    "defaults": ({}, 1.0),
    "decay_betas": ({"learning_rate": 1e-2, "weight_decay": 5e-2, "beta_1": 0.8,
                     "beta_2": 0.99}, 1.0),
    "large_eps_tiny_grads": ({"learning_rate": 1e-2, "epsilon": 1e-3}, 1e-3),
}


def gradient_sequence(steps: int, scale: float, seed: int = 7) -> list[list[np.ndarray]]:
    """Noisy gradients with occasional spikes and an all-zero step, as float32."""
    rng = np.random.default_rng(seed)
    sequence = []
    for t in range(steps):
        spike = 20.0 if t % 37 == 3 else 1.0
        grads = [(rng.normal(size=s) * scale * spike + 0.3 * scale).astype("float32")
                 for s in SHAPES]
        if t == 11:
            grads = [np.zeros(s, "float32") for s in SHAPES]
        sequence.append(grads)
    return sequence


def initial_weights(seed: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype("float32") for s in SHAPES]


def assert_follows_reference(case, overrides, grad_scale, apply_fn):
    """Runs ``apply_fn(optimizer, grads, variables)`` for STEPS steps against the reference."""
    optimizer = case.factory(**overrides)
    reference = case.reference(**overrides)
    lr = overrides.get("learning_rate", 1e-3)
    start = initial_weights()
    variables = [keras.Variable(w) for w in start]
    expected = [w.astype(np.float64) for w in start]
    optimizer.build(variables)
    for t, grads in enumerate(gradient_sequence(STEPS, grad_scale)):
        apply_fn(optimizer, grads, variables)
        expected = reference.step(expected, grads, lr)
        for got, want in zip(variables, expected, strict=True):
            np.testing.assert_allclose(
                keras.ops.convert_to_numpy(got), want, rtol=1e-4, atol=3e-5,
                err_msg=f"{case.id} diverged from the reference at step {t + 1}")
    return optimizer


def eager_apply(optimizer, grads, variables):
    optimizer.apply(grads, variables)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("hyper", list(HYPERPARAMETER_SETS))
@pytest.mark.parametrize("case", PARAMS)
def test_eager_matches_reference(case, hyper):
    overrides, grad_scale = HYPERPARAMETER_SETS[hyper]
    assert_follows_reference(case, overrides, grad_scale, eager_apply)


@pytest.mark.skipif(not TF_BACKEND, reason="tf.function is TensorFlow-only")
@pytest.mark.parametrize("hyper", ["defaults", "decay_betas"])
@pytest.mark.parametrize("case", PARAMS)
def test_xla_matches_reference_without_retracing(case, hyper):
    import tensorflow as tf

    compiled = {}

    def apply_fn(optimizer, grads, variables):
        if not compiled:  # one compiled step per run, closing over its variables
            compiled["step"] = tf.function(
                lambda g: optimizer.apply(g, variables), jit_compile=True)
        compiled["step"]([tf.constant(g) for g in grads])

    overrides, grad_scale = HYPERPARAMETER_SETS[hyper]
    assert_follows_reference(case, overrides, grad_scale, apply_fn)
    assert compiled["step"].experimental_get_tracing_count() == 1
