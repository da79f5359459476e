"""A one-weight-vector model whose updates reveal the rate the optimizer used.

``Dense(1, use_bias=False)`` on inputs of ones with the loss ``mean(y_pred)`` has
a gradient of exactly 1 for every kernel entry, so plain SGD moves each entry by
``-learning_rate`` and SGD with momentum by ``v_t = m_t v_{t-1} - lr_t``.
"""

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="tf_lropt_tests")
def linear_loss(y_true, y_pred):
    return keras.ops.mean(y_pred)


@keras.saving.register_keras_serializable(package="tf_lropt_tests")
def no_gradient_loss(y_true, y_pred):
    return 0.0 * keras.ops.mean(y_pred)


def probe_model(optimizer, jit_compile=True, loss=linear_loss, kernel_initializer="zeros",
                steps_per_execution=1):
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(1, use_bias=False,
                                               kernel_initializer=kernel_initializer)]
    )
    model.compile(optimizer=optimizer, loss=loss, jit_compile=jit_compile,
                  steps_per_execution=steps_per_execution)
    return model


def probe_data(num_batches, batch_size=2):
    n = num_batches * batch_size
    return np.ones((n, 3), "float32"), np.zeros((n, 1), "float32")


class KernelRecorder(keras.callbacks.Callback):
    """Records kernel[0, 0] before and after every batch."""

    def __init__(self):
        super().__init__()
        self.before, self.after = [], []

    def _kernel(self):
        return float(keras.ops.convert_to_numpy(self.model.layers[0].kernel)[0, 0])

    def on_train_batch_begin(self, batch, logs=None):
        self.before.append(self._kernel())

    def on_train_batch_end(self, batch, logs=None):
        self.after.append(self._kernel())

    def deltas(self):
        return np.asarray(self.after, "float64") - np.asarray(self.before, "float64")
