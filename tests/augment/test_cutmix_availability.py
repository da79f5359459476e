"""CutMix is optional: the package imports on Keras < 3.9, and CutMix says what it needs."""

import keras
import pytest

import tf_lropt
from tf_lropt.augment import cutmix


@pytest.mark.backend_agnostic
def test_cutmix_on_this_keras_builds_or_names_the_keras_it_needs():
    if hasattr(keras.layers, "CutMix"):
        assert isinstance(tf_lropt.augment.CutMix(seed=0), keras.layers.CutMix)
    else:
        with pytest.raises(ImportError, match=r"Keras >= 3\.9.*Keras " + keras.__version__):
            tf_lropt.augment.CutMix()


@pytest.mark.backend_agnostic
def test_without_keras_cutmix_constructing_raises_import_error(monkeypatch):
    # What a Keras 3.5 - 3.8 user sees, checked on any installed Keras.
    monkeypatch.setattr(cutmix, "_KerasCutMix", None)
    with pytest.raises(ImportError, match=r"needs Keras >= 3\.9 \(keras\.layers\.CutMix\); "
                                          r"this environment has Keras "):
        cutmix.CutMix(alpha=1.0)


@pytest.mark.backend_agnostic
def test_without_keras_cutmix_the_pipeline_raises_import_error(monkeypatch):
    tf = pytest.importorskip("tensorflow")  # the tf.data pipeline needs it, on any backend
    import numpy as np

    monkeypatch.setattr(cutmix, "_KerasCutMix", None)
    images = np.zeros((4, 8, 8, 3), "uint8")
    dataset = tf.data.Dataset.from_tensor_slices((images, np.arange(4)))
    with pytest.raises(ImportError, match="Keras >= 3.9"):
        tf_lropt.augment.cifar_augment(dataset, trivial_augment=False, cutmix=True)
