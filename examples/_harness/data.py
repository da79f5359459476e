"""Datasets for the experiments: Keras' cache files through NumPy, tensorflow-datasets optional.

Every loader returns ``Splits(train=(x, y), test=(x, y))`` of NumPy arrays, which unpacks like
``keras.datasets.*.load_data()``: images are ``uint8`` of shape ``(N, H, W, C)``, labels
``int64`` of shape ``(N,)``. Nothing is downloaded unless ``download=True`` is passed.

Where the data is looked for, in order:

1. With ``data_dir`` given: tensorflow-datasets in that folder, if the dataset was prepared there
   (``tfds build`` or an earlier ``download=True``).
2. Keras' dataset cache (``keras_cache_dir``, else ``$KERAS_HOME/datasets``, ``~/.keras/datasets``
   and ``/tmp/.keras/datasets``): the files that ``keras.datasets.<name>.load_data()`` would have
   downloaded (Fashion-MNIST's idx ``.gz`` files, ``mnist.npz``, CIFAR-10's pickled batches), read
   with NumPy alone: neither TensorFlow nor tensorflow-datasets is needed, so the experiments run
   on JAX in an environment without TensorFlow.
3. tensorflow-datasets in its default folder, when it is installed (under
   ``tensorflow_datasets.testing.mock_data`` this yields the mock examples, which is how tests
   run without data); with ``download=True`` it downloads and prepares the dataset.
"""

from __future__ import annotations

import gzip
import os
import pickle
from typing import NamedTuple

import numpy as np

NUM_CLASSES = {"mnist": 10, "fashion_mnist": 10, "cifar10": 10, "digits": 10}


class Splits(NamedTuple):
    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


class DataNotFoundError(FileNotFoundError):
    """Raised when a dataset is neither prepared for TFDS nor in Keras' cache."""


def _keras_cache_dirs(keras_cache_dir: str | None) -> list[str]:
    if keras_cache_dir is not None:
        return [os.path.expanduser(keras_cache_dir)]
    homes = [os.environ.get("KERAS_HOME"), os.path.expanduser("~/.keras"), "/tmp/.keras"]
    return [os.path.join(home, "datasets") for home in homes if home]


def _read_idx(path: str, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as stream:
        return np.frombuffer(stream.read(), np.uint8, offset=offset)


def _fashion_mnist_from_cache(folder: str) -> Splits | None:
    folder = os.path.join(folder, "fashion-mnist")
    names = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
    paths = [os.path.join(folder, name) for name in names]
    if not all(os.path.exists(path) for path in paths):
        return None
    y_train, y_test = _read_idx(paths[0], 8), _read_idx(paths[2], 8)
    x_train = _read_idx(paths[1], 16).reshape(len(y_train), 28, 28, 1)
    x_test = _read_idx(paths[3], 16).reshape(len(y_test), 28, 28, 1)
    return Splits((x_train, y_train.astype("int64")), (x_test, y_test.astype("int64")))


def _mnist_from_cache(folder: str) -> Splits | None:
    path = os.path.join(folder, "mnist.npz")
    if not os.path.exists(path):
        return None
    with np.load(path, allow_pickle=False) as arrays:
        return Splits(
            (arrays["x_train"][..., None], arrays["y_train"].astype("int64")),
            (arrays["x_test"][..., None], arrays["y_test"].astype("int64")),
        )


def _cifar10_from_cache(folder: str) -> Splits | None:
    candidates = [os.path.join(folder, "cifar-10-batches-py-target", "cifar-10-batches-py"),
                  os.path.join(folder, "cifar-10-batches-py")]
    root = next((c for c in candidates if os.path.exists(os.path.join(c, "test_batch"))), None)
    if root is None:
        return None

    def read_batch(name: str) -> tuple[np.ndarray, np.ndarray]:
        with open(os.path.join(root, name), "rb") as stream:
            batch = pickle.load(stream, encoding="bytes")
        images = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32)
        return images.transpose(0, 2, 3, 1), np.asarray(batch[b"labels"], np.int64)

    parts = [read_batch(f"data_batch_{i}") for i in range(1, 6)]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return Splits((x_train, y_train), read_batch("test_batch"))


_CACHE_READERS = {
    "fashion_mnist": _fashion_mnist_from_cache,
    "mnist": _mnist_from_cache,
    "cifar10": _cifar10_from_cache,
}


def _from_tfds(name: str, data_dir: str | None, download: bool) -> Splits | None:
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        if download:
            raise
        return None  # optional: the Keras cache is read without it

    try:
        datasets = tfds.load(name, split=["train", "test"], as_supervised=True,
                             data_dir=data_dir, download=download)
    except (AssertionError, FileNotFoundError, tfds.core.registered.DatasetNotFoundError):
        if download:
            raise
        return None  # not prepared in data_dir: the caller falls back to Keras' cache

    def to_arrays(dataset) -> tuple[np.ndarray, np.ndarray]:
        # Batched iteration, not batch_size=-1: the latter aborts the process under mock_data.
        batches = list(tfds.as_numpy(dataset.batch(4096)))
        return (np.concatenate([b[0] for b in batches]).astype(np.uint8),
                np.concatenate([b[1] for b in batches]).astype(np.int64))

    return Splits(*(to_arrays(dataset) for dataset in datasets))


def load_dataset(name: str, data_dir: str | None = None, keras_cache_dir: str | None = None,
                 download: bool = False) -> Splits:
    """Loads ``mnist``, ``fashion_mnist`` or ``cifar10`` (the module docstring says from where)."""
    if name not in _CACHE_READERS:
        raise ValueError(f"name must be one of {sorted(_CACHE_READERS)}, got {name!r}")
    splits = _from_tfds(name, data_dir, download=False) if data_dir is not None else None
    if splits is not None:
        return splits
    for folder in _keras_cache_dirs(keras_cache_dir):
        splits = _CACHE_READERS[name](folder)
        if splits is not None:
            return splits
    splits = _from_tfds(name, data_dir, download=download)
    if splits is not None:
        return splits
    raise DataNotFoundError(
        f"{name} is neither prepared for tensorflow-datasets in data_dir={data_dir!r} nor in "
        f"Keras' cache {_keras_cache_dirs(keras_cache_dir)}. Pass --download (needs a network), "
        f"run `tfds build {name} --data_dir DIR`, or put Keras' cache files in place "
        "(for Fashion-MNIST: shared/data/fetch-to-keras-cache.sh)."
    )


def load_fashion_mnist(data_dir: str | None = None, keras_cache_dir: str | None = None,
                       download: bool = False) -> Splits:
    """Fashion-MNIST as uint8 ``(N, 28, 28, 1)`` images; unpacks like Keras' ``load_data()``."""
    return load_dataset("fashion_mnist", data_dir, keras_cache_dir, download)


def load_mnist(data_dir: str | None = None, keras_cache_dir: str | None = None,
               download: bool = False) -> Splits:
    """MNIST as uint8 ``(N, 28, 28, 1)`` images."""
    return load_dataset("mnist", data_dir, keras_cache_dir, download)


def load_cifar10(data_dir: str | None = None, keras_cache_dir: str | None = None,
                 download: bool = False) -> Splits:
    """CIFAR-10 as uint8 ``(N, 32, 32, 3)`` images."""
    return load_dataset("cifar10", data_dir, keras_cache_dir, download)


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> Splits:
    """scikit-learn's bundled 8x8 digits (1,797 images, values 0-16 rescaled to uint8 0-255)."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(len(labels) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return Splits((images[train], labels[train]), (images[test], labels[test]))


def synthetic_images(name: str, n_train: int = 64, n_test: int = 32, seed: int = 0) -> Splits:
    """Random images and labels shaped like ``name``'s, for tests and ``--smoke`` runs."""
    shape = (32, 32, 3) if name == "cifar10" else (8, 8, 1) if name == "digits" else (28, 28, 1)
    rng = np.random.default_rng(seed)

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        return (rng.integers(0, 256, (n, *shape), dtype=np.uint8),
                rng.integers(0, NUM_CLASSES[name], n).astype(np.int64))

    return Splits(make(n_train), make(n_test))


def subset(splits: Splits, n_train: int | None, n_test: int | None, seed: int = 0) -> Splits:
    """The first ``n`` examples of a seeded shuffle of each split (all when ``n`` is None)."""
    rng = np.random.default_rng(seed)

    def take(pair: tuple[np.ndarray, np.ndarray], n: int | None) -> tuple[np.ndarray, np.ndarray]:
        if n is None or n >= len(pair[1]):
            return pair
        index = rng.permutation(len(pair[1]))[:n]
        return pair[0][index], pair[1][index]

    return Splits(take(splits.train, n_train), take(splits.test, n_test))
