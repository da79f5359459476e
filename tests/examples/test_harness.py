"""The harness's pieces: data loading and fallbacks, models, results directory, tables."""

import gzip
import os

from _harness import data, models, results

import keras
import numpy as np
import pytest


def _write_idx(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.backend_agnostic
def test_fashion_mnist_read_from_keras_cache_files(tmp_path):
    folder = tmp_path / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = {"train": rng.integers(0, 256, (5, 28, 28)), "t10k": rng.integers(0, 256, (3, 28, 28))}
    labels = {"train": np.array([2, 9, 6, 0, 3]), "t10k": np.array([0, 1, 2])}
    for split in ("train", "t10k"):
        _write_idx(folder / f"{split}-images-idx3-ubyte.gz", images[split], 0x803)
        _write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels[split], 0x801)
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist(
        data_dir=str(tmp_path / "no_tfds"), keras_cache_dir=str(tmp_path / "datasets"))
    assert x_train.shape == (5, 28, 28, 1) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train[..., 0], images["train"])
    np.testing.assert_array_equal(x_test[..., 0], images["t10k"])
    np.testing.assert_array_equal(y_train, labels["train"])
    np.testing.assert_array_equal(y_test, labels["t10k"])


def test_missing_dataset_raises_instead_of_downloading(tmp_path):
    with pytest.raises(data.DataNotFoundError, match="--download"):
        data.load_mnist(data_dir=str(tmp_path / "tfds"), keras_cache_dir=str(tmp_path))
    assert not os.listdir(tmp_path)  # nothing fetched or created
    with pytest.raises(ValueError, match="name must be one of"):
        data.load_dataset("imagenet")


def test_tfds_path_under_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        (x_train, y_train), (x_test, _) = data.load_cifar10()
    assert x_train.shape == (12, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.dtype == np.int64 and x_test.shape == (12, 32, 32, 3)


@pytest.mark.backend_agnostic
def test_subset_is_seeded_and_digits_split_is_disjoint():
    splits = data.load_digits(seed=0)
    (x_train, _), (x_test, _) = splits
    assert len(x_train) + len(x_test) == 1797 and x_train.shape[1:] == (8, 8, 1)
    assert x_train.max() == 255
    train_rows = {row.tobytes() for row in x_train}
    assert sum(row.tobytes() in train_rows for row in x_test) < 20  # digits has few duplicates
    a, b = data.subset(splits, 100, 10, seed=3), data.subset(splits, 100, 10, seed=3)
    np.testing.assert_array_equal(a.train[0], b.train[0])
    assert len(a.train[1]) == 100 and len(a.test[1]) == 10
    assert data.subset(splits, None, None) is not None


@pytest.mark.backend_agnostic
def test_vae_loss_is_the_negative_elbo_in_nats():
    vae = models.build_vae(z_dim=3, hidden_units=8, seed=1)
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    out = {k: keras.ops.convert_to_numpy(v) for k, v in vae(x).items()}
    loss = float(keras.ops.convert_to_numpy(vae.compute_loss(x=x, y_pred=out)))
    target = x.reshape(4, 784).astype("float64")
    p = 1.0 / (1.0 + np.exp(-out["logits"].astype("float64")))
    nll = -np.sum(target * np.log(p) + (1 - target) * np.log(1 - p), axis=1)
    kl = -0.5 * np.sum(1 + out["log_var"] - out["mean"] ** 2 - np.exp(out["log_var"]), axis=1)
    np.testing.assert_allclose(loss, np.mean(nll + kl), rtol=1e-5)
    assert vae.count_params() == (784 * 8 + 8) + (8 * 8 + 8) + 2 * (8 * 3 + 3) + (3 * 8 + 8) + (
        8 * 8 + 8) + (8 * 784 + 784)


def test_vae_trains_and_reloads(tmp_path):
    x = (np.random.default_rng(0).random((64, 28, 28, 1)) > 0.5).astype("float32")
    vae = models.build_vae(seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = vae.fit(x, batch_size=16, epochs=3, validation_data=(x,), verbose=0).history
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert history["loss"][0] < 784 * np.log(2) + 50  # starts near the uniform-pixel cost
    vae.save(tmp_path / "vae.keras")
    reloaded = keras.models.load_model(tmp_path / "vae.keras")
    assert reloaded.z_dim == 10
    np.testing.assert_allclose(reloaded.get_weights()[0], vae.get_weights()[0])


@pytest.mark.parametrize("depth, params", [(20, 0.27e6), (56, 0.86e6), (34, 21.3e6)])
def test_resnet_sizes(depth, params):
    model = models.build_cifar_resnet(depth)
    # He et al.: ResNet-20 0.27M, ResNet-56 0.85M (option A shortcuts; ours add 1x1 projections)
    assert abs(model.count_params() - params) / params < 0.03
    assert model.output_shape == (None, 10)
    with pytest.raises(ValueError, match="depth must be one of"):
        models.build_cifar_resnet(18)


def test_caffe_net_and_its_lrn():
    model = models.build_caffe_cifar10(weight_decay=0.004)
    assert model.output_shape == (None, 10) and len(model.losses) == 4
    x = np.random.default_rng(0).normal(size=(1, 5, 5, 2)).astype("float32")
    lrn = models.WithinChannelLRN(local_size=3, alpha=0.5, beta=0.75)
    y = keras.ops.convert_to_numpy(lrn(x))
    # Caffe WITHIN_CHANNEL at the centre pixel: mean of x^2 over the 3x3 window.
    window = x[0, 1:4, 1:4, 0] ** 2
    np.testing.assert_allclose(y[0, 2, 2, 0], x[0, 2, 2, 0] / (1 + 0.5 * window.mean()) ** 0.75,
                               rtol=1e-5)


def test_mlp_is_784_40_20_10_sigmoid():
    model = models.build_mlp()
    assert model.count_params() == 784 * 40 + 40 + 40 * 20 + 20 + 20 * 10 + 10
    assert model.layers[2].activation.__name__ == "sigmoid"


@pytest.mark.backend_agnostic
def test_results_dir_skips_only_identical_finished_runs(tmp_path):
    out = results.ResultsDir(str(tmp_path), "exp")
    history = {"epoch": [1, 2], "val_accuracy": [0.5, 0.75]}
    assert out.load_finished("Adam lr=0.1", {"lr": 0.1}) is None
    out.save_run("Adam lr=0.1", {"lr": 0.1}, history, {"final_test_accuracy": 75.0})
    loaded_history, summary = out.load_finished("Adam lr=0.1", {"lr": 0.1})
    assert loaded_history == {"epoch": [1.0, 2.0], "val_accuracy": [0.5, 0.75]}
    assert summary["final_test_accuracy"] == 75.0 and summary["finished"]
    assert out.load_finished("Adam lr=0.1", {"lr": 0.01}) is None  # changed config: rerun
    assert os.path.exists(tmp_path / "exp" / "runs" / "Adam_lr_0.1.csv")


@pytest.mark.backend_agnostic
def test_markdown_table_and_plot(tmp_path):
    table = results.markdown_table(["a", "b"], [["x", 1.234], ["y", None]])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| x | 1.23 |", "| y | - |"]
    path = results.plot_curves({"m": {"epoch": [1, 2], "loss": [2.0, 1.0]}}, "loss",
                               str(tmp_path / "loss.png"))
    assert os.path.getsize(path) > 1000


@pytest.mark.backend_agnostic
def test_curves_are_the_mean_over_seeds_with_their_band(tmp_path):
    from _harness.training import plot_runs, seed_mean_curves

    def run(accuracies):
        return {"epoch": list(range(1, len(accuracies) + 1)), "val_accuracy": accuracies,
                "accuracy": accuracies}, {}

    by_seed = {0: {"sgd": run([0.2, 0.4, 0.6]), "adam": run([0.5, 0.7])},
               1: {"sgd": run([0.4, 0.8]), "adam": ({}, {"not_run": True})}}
    curves = seed_mean_curves(by_seed)
    assert {name: curve["seeds"] for name, curve in curves.items()} == {"sgd": 2, "adam": 1}
    sgd = curves["sgd"]  # adam's seed 1 did not run
    assert sgd["epoch"] == [1, 2]  # cut to the shorter seed
    np.testing.assert_allclose(sgd["val_accuracy"], [0.3, 0.6])
    np.testing.assert_allclose(sgd["val_accuracy_min"], [0.2, 0.4])
    np.testing.assert_allclose(sgd["val_accuracy_max"], [0.4, 0.8])
    assert curves["adam"]["val_accuracy"] == [0.5, 0.7] and "val_accuracy_min" not in curves["adam"]
    plot_runs(by_seed, results.ResultsDir(str(tmp_path), "exp"))
    assert os.path.getsize(tmp_path / "exp" / "val_accuracy.png") > 1000


def test_train_classifier_records_periods_and_flags_divergence(tmp_path):
    from _harness.training import Method, Plan, train_classifier

    splits = data.synthetic_images("digits", 64, 32)
    out = results.ResultsDir(str(tmp_path), "exp")

    def build(shape):
        return models.build_mlp(shape, (16,), activation="relu")

    history, summary = train_classifier(
        Method("sgd", lambda plan: keras.optimizers.SGD(0.01), config={"lr": 0.01}),
        build, splits, Plan(3, 2, 16), out, run_eagerly=True)
    assert history["epoch"] == [1, 2, 3] and history["step"] == [2, 4, 6]
    assert history["lr"] == pytest.approx([0.01] * 3)
    assert not summary["diverged"] and 0 <= summary["final_test_accuracy"] <= 100
    _, blown_up = train_classifier(
        Method("sgd huge", lambda plan: keras.optimizers.SGD(1e30), config={"lr": 1e30}),
        build, splits, Plan(3, 2, 16), out, run_eagerly=True)
    assert blown_up["diverged"]
