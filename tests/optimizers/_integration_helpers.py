"""Small models, data and comparisons shared by the Keras-integration tests.

Everything here is small on purpose: the integration tests run every optimizer
configuration through ``fit``, saving, mixed precision and distribution, so the
tiny model has 195 weights and a run has a handful of steps; only the digits
sanity check trains a real (64-32-10) classifier for a few hundred steps.
"""

from __future__ import annotations

import keras
import numpy as np

N_FEATURES = 8
N_CLASSES = 3


def classification_data(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A linearly separable 3-class problem a tiny MLP learns in a few epochs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES)).astype("float32")
    w = rng.normal(size=(N_FEATURES, N_CLASSES)).astype("float32")
    y = np.argmax(x @ w, axis=1).astype("int32")
    return x, y


def tiny_model(hidden: int = 16, seed: int = 0) -> keras.Model:
    """Dense -> relu -> Dense (logits), deterministic initial weights."""
    inputs = keras.Input((N_FEATURES,))
    h = keras.layers.Dense(
        hidden,
        activation="relu",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        bias_initializer=keras.initializers.RandomNormal(stddev=0.1, seed=seed + 1),
    )(inputs)
    outputs = keras.layers.Dense(
        N_CLASSES,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 2),
        # float32 logits under mixed precision keep the loss numerically sane.
        dtype="float32",
    )(h)
    return keras.Model(inputs, outputs)


def compile_tiny(model: keras.Model, optimizer: keras.optimizers.Optimizer, **kwargs) -> None:
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        **kwargs,
    )


def assert_weights_close(actual: list, expected: list, rtol: float, atol: float) -> None:
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        np.testing.assert_allclose(
            np.asarray(a, dtype="float64"),
            np.asarray(e, dtype="float64"),
            rtol=rtol,
            atol=atol,
            err_msg=f"weight {i}",
        )


def slot_variables(optimizer: keras.optimizers.Optimizer) -> list:
    """The algorithm's per-parameter state: the optimizer's variables without the
    step counter, the rate, and the base class' EMA averages and gradient
    accumulators."""
    # By identity: Keras < 3.9's rate variable is no instance of the public keras.Variable.
    skip = {id(optimizer._iterations), id(optimizer._learning_rate)}
    for name in ("_model_variables_moving_average", "_accumulated_gradients"):
        skip.update(id(v) for v in getattr(optimizer, name, None) or [])
    return [v for v in optimizer.variables if id(v) not in skip]


def slot_values(optimizer: keras.optimizers.Optimizer) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v).astype("float64") for v in slot_variables(optimizer)]


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (no download), scaled to [0, 1], fixed split."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    y = y.astype("int32")
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:1400], order[1400:]
    return x[train], y[train], x[test], y[test]


def digits_test_accuracy(optimizer: keras.optimizers.Optimizer, epochs: int) -> float:
    """Trains a 64-32-10 MLP on the digits and returns its held-out accuracy."""
    x_train, y_train, x_test, y_test = digits_split()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=True,
    )
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=0)
    return float(model.evaluate(x_test, y_test, verbose=0)[1])
