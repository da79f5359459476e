"""scikit-learn's bundled digits (1,797 8x8 images, pixel values 0-16): real data, no download."""

from __future__ import annotations

import keras
import numpy as np

NUM_CLASSES = 10
NUM_TRAIN = 1400


def digits() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_test, y_test))``: images (N, 8, 8, 1) float32 in [0, 16],
    integer labels; a fixed shuffle, 1,400 training and 397 test images."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x = x[order].reshape(-1, 8, 8, 1).astype("float32")
    y = y[order].astype("int32")
    return (x[:NUM_TRAIN], y[:NUM_TRAIN]), (x[NUM_TRAIN:], y[NUM_TRAIN:])


def mlp(front: list | None = None) -> keras.Model:
    """A 64-unit MLP on the 8x8 images, behind optional (augmentation) layers."""
    return keras.Sequential([
        keras.Input((8, 8, 1)), *(front or []), keras.layers.Rescaling(1 / 16),
        keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(NUM_CLASSES),
    ])


def cnn(front: list | None = None) -> keras.Model:
    """Two small convolutions and global average pooling: invariant to the crop's shifts."""
    return keras.Sequential([
        keras.Input((8, 8, 1)), *(front or []), keras.layers.Rescaling(1 / 16),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(NUM_CLASSES),
    ])


def test_accuracy(model: keras.Model, test: tuple[np.ndarray, np.ndarray]) -> float:
    x, y = test
    predicted = np.argmax(model.predict(x, verbose=0), axis=-1)
    return float(np.mean(predicted == y))


test_accuracy.__test__ = False  # a helper, not a pytest test
