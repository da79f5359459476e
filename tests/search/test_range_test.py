"""LR range test: rates, per-batch values against a float64 reference, suggestions, restore.

Expected suggestions are derived by hand from the curves' closed forms (a logistic in
log(rate), straight lines), never read from the function under test.
"""

import dataclasses
import math

import keras
import numpy as np
import pytest

from tf_lropt.schedules import CyclicalLearningRate
from tf_lropt.search.range_test import (
    LRRangeTest,
    LRRangeTestResult,
    LRSuggestion,
    centered_moving_average,
    find_lr,
    range_test_rate,
    suggest,
)

# The optimizer's rate is a float32 variable: a rate is exact to float32 rounding.
FLOAT32_RTOL = 2.0**-23


def _regression_data(n=1024, d=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    w = rng.normal(size=(d, 1)).astype("float32")
    y = (x @ w + 0.1 * rng.normal(size=(n, 1))).astype("float32")
    return x, y


def _linear_model(d=8, optimizer=None):
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(1)])
    model.compile(optimizer or keras.optimizers.SGD(0.01), "mse")
    return model


# ----------------------------------------------------------------- pure helpers


@pytest.mark.backend_agnostic
def test_rates_linear_and_exponential_hit_both_ends():
    linear = [range_test_rate(i, 5, 1.0, 5.0, "linear") for i in range(5)]
    assert linear == [1.0, 2.0, 3.0, 4.0, 5.0]
    exponential = [range_test_rate(i, 4, 1e-4, 1e-1, "exponential") for i in range(4)]
    np.testing.assert_allclose(exponential, [1e-4, 1e-3, 1e-2, 1e-1], rtol=FLOAT32_RTOL)
    # The ends are the float32 rates themselves, not an ulp off.
    assert exponential[0] == float(np.float32(1e-4)) and exponential[-1] == float(np.float32(0.1))


@pytest.mark.backend_agnostic
def test_centered_moving_average_matches_naive_window_and_has_no_lag():
    rng = np.random.default_rng(0)
    values = rng.normal(size=50)
    smoothed = centered_moving_average(values, 3)
    for i in range(50):
        k = min(3, i, 49 - i)
        assert smoothed[i] == pytest.approx(values[i - k : i + k + 1].mean(), rel=1e-12)
    ramp = np.arange(40.0)
    np.testing.assert_allclose(centered_moving_average(ramp, 5), ramp)  # a line is kept in place


# The synthetic test: 400 rates evenly spaced in log(rate) from 1e-4 to 10; accuracy rises
# as a logistic in log(rate) with centre 0.01 and scale 0.3, and collapses above 1.0.
RATES = np.geomspace(1e-4, 10.0, 400)
GRID_RATIO = (10.0 / 1e-4) ** (1 / 399)  # between neighbouring rates, about 1.029
CENTRE, SCALE = 0.01, 0.3
# A logistic makes 10 % (90 %) of its rise at z = -log(9) (+log(9)).
BASE_LR = CENTRE * math.exp(-SCALE * math.log(9.0))   # 0.005173
MAX_LR = CENTRE * math.exp(SCALE * math.log(9.0))     # 0.019332


def _synthetic_curves(noise=0.0):
    z = (np.log(RATES) - math.log(CENTRE)) / SCALE
    accuracy = 0.1 + 0.8 / (1.0 + np.exp(-z))
    accuracy = np.where(RATES > 1.0, 0.1, accuracy)
    loss = 2.3 - 2.0 / (1.0 + np.exp(-z)) + np.where(RATES > 1.0, 5.0, 0.0)
    rng = np.random.default_rng(1)
    return {"loss": loss, "accuracy": accuracy + noise * rng.normal(size=RATES.size)}


def _synthetic_result(mode="exponential", noise=0.0):
    return LRRangeTestResult(RATES, _synthetic_curves(noise), mode, diverged=True, smoothing=0.9)


def _within_grid_steps(rate, expected, steps=1):
    return expected / GRID_RATIO**steps < rate < expected * GRID_RATIO**steps


@pytest.mark.backend_agnostic
def test_smith_rule_on_a_known_curve():
    suggestion = _synthetic_result().suggestion
    assert suggestion.monitor == "accuracy" and not suggestion.rise_unfinished
    # Suggestions are rates of the grid: each within one grid step (2.9 %) of the exact one.
    assert _within_grid_steps(suggestion.base_lr, BASE_LR), suggestion.base_lr
    assert _within_grid_steps(suggestion.max_lr, MAX_LR), suggestion.max_lr
    # The loss falls fastest against log(rate) at the logistic's centre: the nearest rate.
    assert abs(math.log(suggestion.steepest / CENTRE)) <= math.log(GRID_RATIO) / 2
    # The smoothed loss is lowest at the last rate whose window (5 on each side at
    # smoothing 0.9: half window round(0.5 / 0.1)) does not reach the collapse above 1.0.
    last_stable = np.flatnonzero(RATES <= 1.0)[-1]
    assert suggestion.min_loss_over_10 == RATES[last_stable - 5] / 10


@pytest.mark.backend_agnostic
def test_suggest_is_a_pure_function_of_rates_and_curves():
    curves = _synthetic_curves()
    copies = {name: values.copy() for name, values in curves.items()}
    suggestion = suggest(RATES, curves, smoothing=0.9)
    assert isinstance(suggestion, LRSuggestion)
    for name, values in curves.items():  # its inputs are left as they were
        np.testing.assert_array_equal(values, copies[name])
    assert suggest(RATES, curves, smoothing=0.9) == suggestion
    assert _within_grid_steps(suggestion.base_lr, BASE_LR)
    assert _within_grid_steps(suggestion.max_lr, MAX_LR)
    with pytest.raises(dataclasses.FrozenInstanceError):
        suggestion.base_lr = 1.0
    # The loss alone: monitored when no accuracy is recorded; a rise bound read on it.
    on_loss = suggest(RATES, {"loss": curves["loss"]}, smoothing=0.9)
    assert on_loss.monitor == "loss" and on_loss.base_lr < CENTRE < on_loss.max_lr
    with pytest.raises(ValueError, match="monitor"):
        suggest(RATES, curves, monitor="val_accuracy")
    with pytest.raises(ValueError, match="rise_stop"):
        suggest(RATES, curves, rise_start=0.5, rise_stop=0.4)
    # Fewer than 5 trusted batches: nothing to read.
    assert suggest(RATES[:6], {"loss": curves["loss"][:6]}) == LRSuggestion(
        None, None, None, None, "loss")


@pytest.mark.backend_agnostic
def test_smith_rule_survives_noise_and_ignores_collapse():
    suggestion = _synthetic_result(noise=0.03).suggestion
    assert 0.002 < suggestion.base_lr < 0.01 < suggestion.max_lr < 0.05


@pytest.mark.backend_agnostic
def test_loss_is_monitored_without_accuracy_and_flat_curve_gives_none():
    result = _synthetic_result()
    loss_only = LRRangeTestResult(result.learning_rates, {"loss": result.raw["loss"]},
                                  "exponential", True, smoothing=0.9)
    assert loss_only.suggestion.monitor == "loss"
    assert loss_only.suggestion.base_lr < 0.01 < loss_only.suggestion.max_lr < 1.0
    flat = LRRangeTestResult(np.linspace(0.1, 1, 20), {"loss": np.ones(20)}, "linear", False)
    assert flat.suggestion.base_lr is None and flat.suggestion.max_lr is None
    with pytest.raises(ValueError, match="no usable range"):
        flat.to_schedule(10)


@pytest.mark.backend_agnostic
def test_partial_batches_are_dropped_and_do_not_move_suggestions():
    clean = _synthetic_result()
    rates, raw = clean.learning_rates, clean.raw
    # One 5-example batch after every 20 full ones, at accuracy 1.0 and loss 0: lucky
    # samples that, kept, would each look like the best point of the curve.
    spots = np.arange(19, rates.size, 20)
    sizes = np.full(rates.size, 128)
    sizes[spots] = 5
    accuracy, loss = raw["accuracy"].copy(), raw["loss"].copy()
    accuracy[spots], loss[spots] = 1.0, 0.0
    noisy = LRRangeTestResult(rates, {"loss": loss, "accuracy": accuracy}, "exponential",
                              True, smoothing=0.9, batch_sizes=sizes)
    assert noisy.dropped_partial_batches == spots.size
    np.testing.assert_array_equal(noisy.learning_rates, np.delete(rates, spots))
    kept = LRRangeTestResult(np.delete(rates, spots),
                             {k: np.delete(v, spots) for k, v in raw.items()},
                             "exponential", True, smoothing=0.9)
    assert noisy.suggestion == kept.suggestion
    # Without the lucky batches the rule finds the logistic's rise (the grid now has a
    # double step wherever a batch was dropped).
    assert _within_grid_steps(noisy.suggestion.base_lr, BASE_LR, steps=2)
    assert _within_grid_steps(noisy.suggestion.max_lr, MAX_LR, steps=2)
    with pytest.raises(ValueError, match="batch_sizes"):
        LRRangeTestResult(rates, raw, "exponential", True, batch_sizes=sizes[:-1])


@pytest.mark.backend_agnostic
def test_suggestions_ignore_the_shrinking_window_at_the_end():
    # Accuracy rises steadily, and the last raw batch alone jumps to 1.0. The centred
    # average shrinks to that batch at the edge; a suggestion read there would be the
    # last rate. Read from whole windows, the rise is unfinished at the trusted end.
    rates = np.geomspace(1e-3, 1.0, 60)
    accuracy = np.linspace(0.1, 0.7, 60)
    accuracy[-1] = 1.0
    result = LRRangeTestResult(rates, {"loss": 2.0 - accuracy, "accuracy": accuracy},
                               "exponential", False, smoothing=0.9)
    # Half window min(round(0.5 / (1 - 0.9)), (60 - 1) // 4) = 5: whole windows in [5, 55).
    assert result.trusted() == slice(5, 55)
    s = result.suggestion
    # Inside [5, 55) the smoothed accuracy is the line a(i) = 0.1 + 0.6 i / 59, except at
    # i = 54, whose window [49, 59] holds the jump: a(54) + 0.3 / 11. The rise from i = 5
    # to 54 is 0.6 * 49 / 59 + 0.3 / 11 = 0.52558; 10 % of it (0.05256) is first made at
    # i = 11 (0.6 * 6 / 59 = 0.0610; i = 10 gives 0.0508), 90 % (0.47302) at i = 52
    # (0.6 * 47 / 59 = 0.4780; i = 51 gives 0.4678).
    assert (s.base_lr, s.max_lr) == (rates[11], rates[52]) and s.rise_unfinished
    # The loss 2 - accuracy is lowest at i = 54 and falls fastest there: its centred
    # difference reaches the jump's 0.3 / 9 share in the shrunken window of i = 55.
    assert (s.steepest, s.min_loss_over_10) == (rates[54], rates[54] / 10)
    assert not _synthetic_result().suggestion.rise_unfinished


@pytest.mark.backend_agnostic
def test_dataframe_csv_and_plot(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    result = _synthetic_result()
    frame = result.to_dataframe()
    assert list(frame.columns) == ["step", "learning_rate", "loss", "loss_smoothed",
                                   "accuracy", "accuracy_smoothed"]
    assert len(frame) == 400
    path = tmp_path / "range.csv"
    result.to_csv(str(path))
    assert path.read_text().splitlines()[0].startswith("step,learning_rate,loss")
    axes = result.plot()
    assert len(axes) == 2 and axes[0].get_xscale() == "log"
    labels = [line.get_label() for line in axes[1].get_lines()]
    assert any(label.startswith("base_lr") for label in labels)
    assert any(label.startswith("max_lr") for label in labels)


@pytest.mark.backend_agnostic
def test_to_schedule_returns_cyclical_between_suggestions():
    result = _synthetic_result()
    schedule = result.to_schedule(step_size=4, mode="triangular2")
    assert isinstance(schedule, CyclicalLearningRate)
    assert (schedule.base_lr, schedule.max_lr, schedule.step_size, schedule.mode) == (
        result.suggestion.base_lr, result.suggestion.max_lr, 4, "triangular2")
    assert _within_grid_steps(float(schedule(0)), BASE_LR)
    assert _within_grid_steps(float(schedule(4)), MAX_LR)
    # triangular2: the second cycle's peak (step 12) rises half as far above base_lr.
    np.testing.assert_allclose(float(schedule(12)),
                               schedule.base_lr + (schedule.max_lr - schedule.base_lr) / 2,
                               rtol=4 * FLOAT32_RTOL)


# ------------------------------------------------------------- with training


def _sgd_reference(x, y, w, b, rates, batch_size):
    """float64 minibatch SGD on mean squared error; the loss of each batch before its step."""
    w, b = w.astype(np.float64), b.astype(np.float64)
    losses = []
    for step, rate in enumerate(rates):
        xb = x[step * batch_size : (step + 1) * batch_size].astype(np.float64)
        yb = y[step * batch_size : (step + 1) * batch_size].astype(np.float64)
        residual = xb @ w + b - yb
        losses.append(float(np.mean(residual**2)))
        w = w - rate * (2.0 / residual.size) * xb.T @ residual
        b = b - rate * (2.0 / residual.size) * residual.sum(axis=0)
    return np.array(losses)


@pytest.mark.backend_agnostic
def test_per_batch_loss_and_rate_match_float64_sgd_reference():
    x, y = _regression_data(n=640)
    model = _linear_model()
    w, b = (v.copy() for v in model.get_weights())
    result = find_lr(model, (x, y), 1e-3, 0.5, epochs=1, batch_size=32, shuffle=False,
                     divergence_factor=None)
    expected_rates = np.linspace(1e-3, 0.5, 20)
    np.testing.assert_allclose(result.learning_rates, expected_rates, rtol=FLOAT32_RTOL)
    reference = _sgd_reference(x, y, w, b, expected_rates, 32)
    # Per-batch values, not Keras' running mean: that would differ by far more.
    np.testing.assert_allclose(result.raw["loss"], reference, rtol=2e-4)
    running_mean = np.cumsum(reference) / np.arange(1, 21)
    assert np.max(np.abs(running_mean - reference) / reference) > 0.5


@pytest.mark.backend_agnostic
def test_model_and_optimizer_are_untouched():
    x, y = _regression_data()
    model = _linear_model(optimizer=keras.optimizers.Adam(0.003))
    model.fit(x, y, epochs=1, batch_size=128, verbose=0)  # non-zero moments and iterations
    weights = [v.copy() for v in model.get_weights()]
    optimizer_state = [np.array(v) for v in model.optimizer.variables]
    find_lr(model, (x, y), 1e-4, 1.0, epochs=2, batch_size=32, mode="exponential")
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    for before, after in zip(optimizer_state, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(before, np.array(after))
    assert float(model.optimizer.learning_rate) == pytest.approx(0.003)


def test_divergence_stops_early_and_suggestions_fall_in_stable_range():
    # Least squares with unit-variance inputs: the loss's curvature is about 2,
    # so gradient descent diverges above lr ~ 1 and is slow below ~ 1e-3.
    x, y = _regression_data(n=2048)
    model = _linear_model()
    result = find_lr(model, (x, y), 1e-4, 10.0, epochs=3, batch_size=32, mode="exponential")
    assert result.diverged
    assert len(result.learning_rates) < 3 * 64
    assert result.learning_rates[-1] > 1.0  # it stopped only once the rate had become too high
    s = result.suggestion
    for rate in (s.max_lr, s.steepest, s.min_loss_over_10):
        assert 1e-3 <= rate <= 1.0
    assert 1e-4 <= s.base_lr < s.max_lr


def test_accuracy_rule_on_digits_falls_in_known_good_range():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x, y = (digits.data / 16.0).astype("float32"), digits.target
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    result = find_lr(model, (x, y), 1e-3, 100.0, epochs=4, batch_size=32, mode="exponential")
    s = result.suggestion
    assert s.monitor == "accuracy" and result.diverged
    # 1,797 = 56 x 32 + 5: batch 56 of each 57-batch epoch holds 5 examples; every one
    # the test reached (it diverges in the fourth epoch) is dropped.
    recorded = len(result.learning_rates) + result.dropped_partial_batches
    assert result.dropped_partial_batches == (recorded + 1) // 57 >= 3
    # Two epochs of plain SGD on this MLP reach >= 80 % accuracy for rates 0.1-1 and
    # stay near chance below 0.01 or above ~3.
    assert 0.005 <= s.base_lr < s.max_lr <= 1.0
    assert 0.01 <= s.steepest <= 1.0


def test_steps_instead_of_epochs_and_dataset_input():
    import tensorflow as tf

    x, y = _regression_data(n=256)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)  # 8 batches per epoch
    model = _linear_model()
    result = find_lr(model, dataset, 1e-3, 0.1, steps=20, divergence_factor=None)
    assert len(result.learning_rates) == 20
    assert result.learning_rates[-1] == pytest.approx(0.1)


def test_bad_input_raises_before_training():
    x, y = _regression_data(n=64)
    model = _linear_model()
    with pytest.raises(ValueError, match="min_lr"):
        find_lr(model, (x, y), 0.1, 0.1)
    with pytest.raises(ValueError, match="min_lr"):
        find_lr(model, (x, y), 0.0, 0.1)
    with pytest.raises(ValueError, match="mode"):
        find_lr(model, (x, y), 1e-3, 0.1, mode="cosine")
    with pytest.raises(ValueError, match="either `epochs` or `steps`"):
        find_lr(model, (x, y), 1e-3, 0.1, epochs=1, steps=10)
    with pytest.raises(ValueError, match="num_steps"):
        LRRangeTest(1e-3, 0.1, num_steps=1)
    with pytest.raises(ValueError, match="divergence_factor"):
        LRRangeTest(1e-3, 0.1, num_steps=10, divergence_factor=1.0)
    assert int(model.optimizer.iterations) == 0
    scheduled = _linear_model(optimizer=keras.optimizers.SGD(
        keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)))
    with pytest.raises(ValueError, match="LearningRateSchedule"):
        find_lr(scheduled, (x, y), 1e-3, 0.1, batch_size=32)
    # A callable rate fails the same way, before Keras' AttributeError on assignment.
    dynamic = _linear_model(optimizer=keras.optimizers.SGD(lambda: 0.1))
    with pytest.raises(ValueError, match="LRRangeTest .* a callable"):
        find_lr(dynamic, (x, y), 1e-3, 0.1, batch_size=32)
    fresh = _linear_model()
    with pytest.raises(ValueError, match="monitor"):
        find_lr(fresh, (x, y), 1e-3, 0.1, batch_size=16, monitor="accuracy")
    assert int(fresh.optimizer.iterations) == 0


def test_restore_resets_an_optimizer_that_the_test_built():
    # Compiled but never trained: the TensorFlow trainer builds the optimizer at the first
    # step, after on_train_begin; the test must still leave it as untrained as it found it.
    x, y = _regression_data(n=256)
    model = _linear_model(optimizer=keras.optimizers.Adam(0.01))
    before = model.get_weights()
    find_lr(model, (x, y), 1e-3, 0.1, steps=8, batch_size=32)
    assert model.optimizer.built and int(model.optimizer.iterations) == 0
    for variable in model.optimizer.variables:  # the moments as built: zero
        if variable.name != "learning_rate":
            assert not np.any(np.asarray(variable)), variable.name
    for restored, initial in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(restored, initial)
