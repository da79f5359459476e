"""The package without TensorFlow: it imports and works on another backend, and each
TensorFlow-only feature says how to install TensorFlow."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import keras
import pytest

from tf_lropt._tensorflow import TENSORFLOW_EXTRA, require_tensorflow
from tf_lropt.augment import cifar_augment
from tf_lropt.recipes import RobustRecipe

pytestmark = pytest.mark.backend_agnostic


@pytest.fixture
def no_tensorflow(monkeypatch):
    """`import tensorflow` fails as where it is not installed (None in sys.modules halts it)."""
    monkeypatch.setitem(sys.modules, "tensorflow", None)


def test_the_extra_is_the_one_to_install():
    assert TENSORFLOW_EXTRA == 'pip install "tf-lropt[tensorflow]"'


@pytest.mark.parametrize("feature", ["cifar_augment", "RobustRecipe.augment"])
def test_tensorflow_only_features_name_the_extra(no_tensorflow, feature):
    call = {
        "cifar_augment": lambda: cifar_augment(None, num_classes=10),
        "RobustRecipe.augment": lambda: RobustRecipe(epochs=2, steps_per_epoch=3).augment(
            None, num_classes=10),
    }[feature]
    with pytest.raises(ImportError, match="cifar_augment.*needs TensorFlow") as raised:
        call()
    assert TENSORFLOW_EXTRA in str(raised.value)
    assert raised.value.name == "tensorflow"


def test_a_broken_tensorflow_shows_its_own_error(monkeypatch):
    # A TensorFlow that is installed but fails to import (a missing dependency of its own) is
    # not reported as missing: its error is the one that helps.
    class Broken:
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow":
                raise ModuleNotFoundError("No module named 'google.protobuf'",
                                          name="google.protobuf")
            return None

    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Broken(), *sys.meta_path])
    with pytest.raises(ModuleNotFoundError, match="google.protobuf"):
        require_tensorflow("cifar_augment (a tf.data pipeline)")


_WITHOUT_TENSORFLOW = """
import sys
import keras, numpy as np, tf_lropt
from tf_lropt.augment import TrivialAugment
from tf_lropt.recipes import RobustRecipe
images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3)).astype("uint8")
assert TrivialAugment(seed=0)(images, training=True).shape == (4, 8, 8, 3)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
model.compile(tf_lropt.optimizers.RAdaBeliefW(tf_lropt.schedules.Cosine(0.01, 10)), "mse")
model.fit(np.ones((8, 4)), np.ones((8, 2)), epochs=1, verbose=0)
RobustRecipe(epochs=2, steps_per_epoch=3).augment_layers((8, 8))
assert "tensorflow" not in sys.modules, "something imported tensorflow"
print("ok", keras.backend.backend())
"""


def test_the_package_works_without_tensorflow_on_another_backend(tmp_path):
    backend = keras.backend.backend()
    if backend == "tensorflow" or importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("TensorFlow is installed; CI's JAX and torch environments have none")
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run([sys.executable, "-c", _WITHOUT_TENSORFLOW], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.split() == ["ok", backend]
