"""WeightDecayScheduler reaches the compiled step; LearningRateLogger records the cycle."""

import keras
import numpy as np
import pytest

from tests.callbacks.probe import KernelRecorder, no_gradient_loss, probe_data, probe_model
from tf_lropt.callbacks import LearningRateLogger, WeightDecayScheduler
from tf_lropt.optimizers import OPTIMIZER_CLASSES
from tf_lropt.schedules import Cosine, Triangular2

DECAYING = [
    pytest.param(lambda: keras.optimizers.AdamW(0.1, weight_decay=0.5), id="AdamW"),
    pytest.param(lambda: keras.optimizers.SGD(0.1, weight_decay=0.5), id="SGD"),
    *(pytest.param(lambda cls=cls: cls(0.1, weight_decay=0.5), id=cls.__name__)
      for cls in OPTIMIZER_CLASSES),
]


def fit_without_gradient(optimizer, callbacks, num_batches, epochs):
    # Zero gradient: Adam-family updates vanish, so only decoupled weight decay moves
    # the weights, each step by the factor (1 - weight_decay * lr).
    model = probe_model(optimizer, jit_compile=True, loss=no_gradient_loss,
                        kernel_initializer="ones")
    recorder = KernelRecorder()
    x, y = probe_data(num_batches)
    model.fit(x, y, batch_size=2, epochs=epochs, verbose=0, callbacks=[*callbacks, recorder])
    return model, np.asarray(recorder.after) / np.asarray(recorder.before)


@pytest.mark.parametrize("make_optimizer", DECAYING)
def test_weight_decay_stops_at_75_percent_under_jit(make_optimizer):
    optimizer = make_optimizer()
    scheduler = WeightDecayScheduler(off_fraction=0.75)
    model, ratios = fit_without_gradient(optimizer, [scheduler], 2, epochs=8)
    ratios = ratios.reshape(8, 2)
    np.testing.assert_allclose(ratios[:6], 1.0 - 0.5 * 0.1, rtol=1e-6)
    np.testing.assert_array_equal(ratios[6:], 1.0)
    assert scheduler.history["weight_decay"] == [0.5] * 6 + [0.0] * 2
    assert model.optimizer.weight_decay == 0.5  # configured value restored after fit


@pytest.mark.backend_agnostic
def test_weight_decay_off_reaches_the_compiled_step_on_every_backend():
    # On JAX the jitted step freezes the float weight decay: the scheduler sets the float
    # and retraces the step at the epoch where decay turns off (here ceil(0.5 * 4) = 2).
    scheduler = WeightDecayScheduler(off_fraction=0.5)
    history = []
    logger = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: history.append(logs["weight_decay"]))
    model, ratios = fit_without_gradient(keras.optimizers.AdamW(0.1, weight_decay=0.5),
                                         [scheduler, logger], 2, epochs=4)
    np.testing.assert_allclose(ratios.reshape(4, 2)[:2], 1.0 - 0.5 * 0.1, rtol=1e-6)
    np.testing.assert_array_equal(ratios.reshape(4, 2)[2:], 1.0)
    assert history == [0.5, 0.5, 0.0, 0.0]
    assert model.optimizer.weight_decay == 0.5  # the configured float after fit
    if keras.backend.backend() == "jax":  # a new value every batch would retrace every batch
        per_step = WeightDecayScheduler(off_fraction=None, schedule=Cosine(1.0, 10))
        with pytest.raises(ValueError, match="JAX backend freezes `weight_decay`"):
            fit_without_gradient(keras.optimizers.AdamW(0.1, weight_decay=0.5), [per_step], 1, 1)


def test_weight_decay_multiplied_by_a_schedule_and_logged():
    multiplier = Cosine(1.0, 10)
    scheduler = WeightDecayScheduler(off_fraction=None, schedule=multiplier)
    optimizer = keras.optimizers.AdamW(0.1, weight_decay=0.5)
    model = probe_model(optimizer, jit_compile=True, loss=no_gradient_loss,
                        kernel_initializer="ones")
    recorder = KernelRecorder()
    x, y = probe_data(5)
    history = model.fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[scheduler, recorder])
    ratios = np.asarray(recorder.after) / np.asarray(recorder.before)
    want = [1.0 - 0.5 * float(multiplier(i)) * 0.1 for i in range(10)]
    np.testing.assert_allclose(ratios, want, rtol=1e-6)
    assert history.history["weight_decay"] == pytest.approx([0.5 * float(multiplier(4)),
                                                             0.5 * float(multiplier(9))])


def test_off_epoch_uses_total_epochs_across_fit_calls():
    optimizer = keras.optimizers.AdamW(0.1, weight_decay=0.5)
    scheduler = WeightDecayScheduler(0.75, total_epochs=4)
    model = probe_model(optimizer, jit_compile=True, loss=no_gradient_loss,
                        kernel_initializer="ones")
    x, y = probe_data(1)
    model.fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[scheduler])
    model.fit(x, y, batch_size=2, epochs=4, initial_epoch=2, verbose=0, callbacks=[scheduler])
    assert scheduler.history["weight_decay"] == [0.5, 0.5, 0.5, 0.0]
    assert scheduler.off_epoch(100) == 75
    # The fraction as written: 0.55 * 100 is 55.00000000000001 in floats.
    assert WeightDecayScheduler(0.55).off_epoch(100) == 55
    assert WeightDecayScheduler(0.55).off_epoch(101) == 56


def test_weight_decay_errors():
    with pytest.raises(ValueError, match="non-zero weight_decay"):
        fit_without_gradient(keras.optimizers.Adam(0.1), [WeightDecayScheduler()], 1, 1)
    with pytest.raises(ValueError, match="exactly one"):
        WeightDecayScheduler(off_fraction=0.5, schedule=Cosine(1.0, 10))
    with pytest.raises(ValueError, match="exactly one"):
        WeightDecayScheduler(off_fraction=None)
    with pytest.raises(ValueError, match="off_fraction"):
        WeightDecayScheduler(off_fraction=0.0)
    with pytest.raises(ValueError, match="total_epochs"):
        WeightDecayScheduler(total_epochs=0)


@pytest.mark.parametrize("frequency", ["batch", "epoch"])
def test_learning_rate_logger_records_the_schedule(frequency):
    schedule = Triangular2(0.01, 0.05, 2)
    logger = LearningRateLogger(frequency)
    batch_logs = []
    spy = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batch_logs.append(logs.get("learning_rate"))
    )
    model = probe_model(keras.optimizers.SGD(schedule))
    x, y = probe_data(4)
    # The spy listed first still sees the per-batch rate (batch mode).
    history = model.fit(x, y, batch_size=2, epochs=3, verbose=0, callbacks=[spy, logger])
    want = [float(schedule(i)) for i in range(12)]
    np.testing.assert_allclose(logger.history["learning_rate"], want, rtol=1e-6)
    np.testing.assert_allclose(history.history["learning_rate"], want[3::4], rtol=1e-6)
    if frequency == "batch":
        np.testing.assert_allclose(batch_logs, want, rtol=1e-6)
    else:  # only the epoch logs carry the rate
        assert batch_logs == [None] * 12
    with pytest.raises(ValueError, match="frequency"):
        LearningRateLogger("step")
