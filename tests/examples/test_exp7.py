"""Experiment 7's own pieces: table 1's staged triangular2, Caffe's standard run, the prototxt's
network and the read-outs, against float64 NumPy references written from the documents."""

import math

from _harness import models

import exp7_cyclical_caffe as exp7
import keras
import numpy as np
import pytest


def triangular2_reference(t: np.ndarray, base: float, peak: float, size: float) -> np.ndarray:
    """Smith's triangular2 in float64: cycle = floor(1 + t / 2s), x = |t/s - 2 cycle + 1|."""
    cycle = np.floor(1 + t / (2 * size))
    x = np.abs(t / size - 2 * cycle + 1)
    return base + (peak - base) * np.maximum(0, 1 - x) / 2 ** (cycle - 1)


def table1_reference(t: np.ndarray, f: float) -> np.ndarray:
    """Table 1 at factor f: each stage a fresh triangular2 from its own start."""
    rate = np.zeros_like(t)
    for base, peak, size, start in exp7.TABLE1_STAGES:
        inside = t >= round(start * f)
        rate = np.where(inside, triangular2_reference(t - round(start * f), base, peak,
                                                      size * f), rate)
    return rate


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("f", [1.0, 0.1])
def test_table1_stages_match_the_document(f):
    t = np.arange(0, round(25_000 * f) + 1, dtype=np.float64)
    ours = keras.ops.convert_to_numpy(exp7.table1_triangular2(f)(t))
    np.testing.assert_allclose(ours, table1_reference(t, f), rtol=1e-6, atol=1e-12)
    # the document's landmarks: stage 1 peaks at 0.005 (cycle 1), then 0.003 (cycle 2);
    # stage 2 starts at 0.0001 and peaks at 0.0005; stage 3 peaks at 0.00005
    at = {int(n): ours[int(n)] for n in np.array([2000, 6000, 16_000, 17_000, 22_500]) * f}
    assert at[round(2000 * f)] == pytest.approx(0.005, rel=1e-6)
    assert at[round(6000 * f)] == pytest.approx(0.003, rel=1e-6)
    assert at[round(16_000 * f)] == pytest.approx(0.0001, rel=1e-6)
    assert at[round(17_000 * f)] == pytest.approx(0.0005, rel=1e-6)
    assert at[round(22_500 * f)] == pytest.approx(0.00005, rel=1e-6)


@pytest.mark.backend_agnostic
def test_the_recipe_step_size_sets_stage_one_and_the_later_stages_keep_their_ratios():
    staged = exp7.table1_triangular2(0.1, first_step_size=200)
    assert [s.step_size for s in staged.stages] == [200, 100, 50]
    assert staged.starts == [0, 1600, 2200]


@pytest.mark.backend_agnostic
def test_caffe_standard_drops_tenfold_at_60000_and_65000():
    schedule = exp7.caffe_standard(0.1)
    steps = np.array([0, 5999, 6000, 6499, 6500, 6999], dtype=np.float64)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(schedule(steps)),
                               [1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5], rtol=1e-6)


@pytest.mark.backend_agnostic
def test_staged_schedules_serialize_and_check_their_starts():
    for schedule in (exp7.table1_triangular2(0.1), exp7.caffe_standard(0.1)):
        again = keras.optimizers.schedules.deserialize(
            keras.optimizers.schedules.serialize(schedule))
        t = np.arange(0, 7000, 37, dtype=np.float64)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(again(t)),
                                   keras.ops.convert_to_numpy(schedule(t)), rtol=1e-7)
    for starts in ([0], [1, 2], [0, 5, 5]):
        with pytest.raises(ValueError, match="starts must begin at 0"):
            exp7.Staged([0.1, 0.01], starts)


@pytest.mark.backend_agnostic
def test_medium_arms_and_their_run_lengths():
    names = exp7.names_of(exp7.methods(0.1, "medium", 200))
    assert sorted(names) == sorted(exp7.MEDIUM_ARMS)
    assert exp7.run_length("exp_range", "medium") == 42_000
    assert exp7.run_length("exp_range", "full") == 70_000
    reduced = exp7.methods(0.02, "reduced")
    assert exp7.CAFFE_STANDARD not in exp7.names_of(reduced) and len(reduced) == 15
    # the short runs' configuration is what their records were written with
    assert reduced[0].config == {"optimizer": "SGD", "policy": "fixed", "factor": 0.02}
    medium = exp7.methods(0.1, "medium", 200)
    assert all(m.config["network"] == "caffe prototxt" for m in medium)
    # medium: the half cycle is 2 epochs of the 10,000-image subset (100 iterations an epoch)
    scale = exp7.SCALES["medium"]
    assert 2000 * scale.factor / (scale.n_train // scale.batch) == 2


@pytest.mark.backend_agnostic
def test_accuracy_is_read_only_where_the_run_has_an_evaluation():
    history = {"step": [100, 200, 300], "val_accuracy": [0.5, 0.6, 0.7]}
    assert exp7.accuracy_at(history, 200, 100) == pytest.approx(60.0)
    assert exp7.accuracy_at(history, 340, 100) == pytest.approx(70.0)
    assert exp7.accuracy_at(history, 700, 100) is None  # the run ended at 300
    assert exp7.accuracy_at({}, 100, 100) is None


@pytest.mark.backend_agnostic
def test_the_prototxt_network():
    keras.utils.set_random_seed(0)
    model = models.build_caffe_cifar10((32, 32, 3), weight_decay=0.004, caffe_fillers=True,
                                       bias_lr_scale=math.sqrt(2))
    kernels = [w for w in model.weights if w.path.endswith("kernel")]
    stds = [float(np.std(keras.ops.convert_to_numpy(w))) for w in kernels]
    np.testing.assert_allclose(stds, [1e-4, 0.01, 0.01, 0.01], rtol=0.05)
    biases = [layer for layer in model.layers if isinstance(layer, models.ScaledBias)]
    assert [b.scale for b in biases] == pytest.approx([math.sqrt(2), math.sqrt(2), 1.0,
                                                       math.sqrt(2)])
    # decay: lambda * decay_mult / 2 on the weights; on b' = b / c, lambda * c^2 / 2
    kernel_l2 = [float(layer.kernel_regularizer.l2) for layer in model.layers
                 if getattr(layer, "kernel_regularizer", None) is not None]
    assert kernel_l2 == pytest.approx([0.002, 0.002, 0.002, 0.5])
    bias_l2 = [None if b.regularizer is None else float(b.regularizer.l2) for b in biases]
    assert bias_l2 == pytest.approx([0.004, 0.004, 0.002, None])
    assert model.count_params() == models.build_caffe_cifar10((32, 32, 3)).count_params()


@pytest.mark.backend_agnostic
def test_a_scaled_bias_moves_as_caffe_lr_mult_2_under_sgd():
    """One SGD step: the effective bias c * b' moves c^2 = 2 times a plain bias' step."""
    x = np.ones((4, 3), "float32")
    y = np.full((4, 2), 3.0, "float32")

    def bias_step(layers_) -> np.ndarray:
        inputs = keras.Input((3,))
        out = inputs
        for layer in layers_:
            out = layer(out)
        model = keras.Model(inputs, out)
        model.compile(keras.optimizers.SGD(0.01), "mse")
        model.layers[1].set_weights([np.zeros((3, 2), "float32")]
                                    + ([np.zeros(2, "float32")] if len(layers_) == 1 else []))

        def effective():
            if len(layers_) == 1:
                return keras.ops.convert_to_numpy(layers_[0].bias)
            return layers_[1].scale * keras.ops.convert_to_numpy(layers_[1].bias)

        before = effective()
        model.train_on_batch(x, y)
        return effective() - before

    plain = bias_step([keras.layers.Dense(2)])
    scaled = bias_step([keras.layers.Dense(2, use_bias=False),
                        models.ScaledBias(math.sqrt(2))])
    np.testing.assert_allclose(scaled, 2 * plain, rtol=1e-5)
    assert np.all(plain != 0)


def test_medium_plan_lists_five_arms_for_three_seeds(tmp_path, capsys):
    with pytest.raises(SystemExit):
        exp7.main(["--medium", "--synthetic", "--list-runs", "--results-dir", str(tmp_path)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert sorted(lines) == sorted(f"run\t{seed}\t{name}" for seed in (0, 1, 2)
                                   for name in exp7.MEDIUM_ARMS)
    with pytest.raises(ValueError, match="--methods must name"):
        exp7.main(["--medium", "--synthetic", "--methods", "Adam fixed", "--results-dir",
                   str(tmp_path)])

