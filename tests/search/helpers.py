"""What the explorer's tests share: a small regression problem, a linear model, a fit counter.

A helper module, not a test module: test modules import it, never one another.
"""

import json
import os

import keras
import numpy as np


def data(seed=0):
    """192 examples of y = x @ w + noise: 128 for training, 64 for validation."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(192, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [1.5]]) + 0.1 * rng.normal(size=(192, 1)))
    y = y.astype("float32")
    return (x[:128], y[:128]), (x[128:], y[128:])


def build(rate):
    """A linear model under SGD(rate)."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    # Eager: a trial of a few batches is faster without tracing a new train function.
    model.compile(keras.optimizers.SGD(rate), "mse", run_eagerly=True)
    return model


class Counter(keras.callbacks.Callback):
    """Counts trainings (fit calls) and can raise inside a chosen one."""

    def __init__(self, raise_in=None):
        super().__init__()
        self.fits, self.raise_in, self.rates = 0, raise_in, []

    def on_train_begin(self, logs=None):
        self.fits += 1
        self.rates.append(float(np.array(self.model.optimizer.learning_rate)))

    def on_epoch_end(self, epoch, logs=None):
        if self.fits == self.raise_in:
            raise RuntimeError("interrupted")


def trial_files(directory):
    """The KerasTuner trial files of an explorer's directory, as JSON states by trial id."""
    project = os.path.join(directory, "keras_tuner")
    states = {}
    for name in sorted(os.listdir(project)):
        path = os.path.join(project, name, "trial.json")
        if name.startswith("trial_") and os.path.exists(path):
            with open(path) as f:
                states[name] = json.load(f)
    return states


def completed_rates(directory):
    """The rates of the completed trials in an explorer's directory, from KerasTuner's files."""
    return sorted(float(s["hyperparameters"]["values"]["rate"])
                  for s in trial_files(directory).values() if s["status"] == "COMPLETED")
