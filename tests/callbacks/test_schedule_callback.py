"""ScheduleCallback and its twins: the rate and momentum the compiled step really uses."""

import csv

import keras
import numpy as np
import pytest

from tests._distribute import mirrored_strategy
from tests.callbacks.probe import KernelRecorder, probe_data, probe_model
from tf_lropt.callbacks import CosineAnnealing, CyclicLR, ScheduleCallback
from tf_lropt.optimizers import OPTIMIZER_CLASSES
from tf_lropt.schedules import Cosine, CyclicalLearningRate, OneCycle, Triangular2


def fit(model, callbacks, num_batches, epochs=1, **kwargs):
    x, y = probe_data(num_batches)
    return model.fit(x, y, batch_size=2, epochs=epochs, verbose=0, callbacks=callbacks, **kwargs)


def schedule_rates(schedule, steps):
    return np.asarray([float(schedule(int(i))) for i in steps])


def test_callback_rate_used_equals_schedule_and_schedule_in_optimizer():
    schedule = Triangular2(0.001, 0.006, 3)
    callback, recorder = ScheduleCallback(schedule), KernelRecorder()
    fit(probe_model(keras.optimizers.SGD(0.0)), [callback, recorder], 8, epochs=3)
    want = schedule_rates(schedule, range(24))
    np.testing.assert_array_equal(callback.history["learning_rate"], want.astype("float32"))
    np.testing.assert_array_equal(callback.history["iterations"], range(24))
    np.testing.assert_allclose(-recorder.deltas(), want, rtol=1e-4)
    inside = KernelRecorder()
    fit(probe_model(keras.optimizers.SGD(schedule)), [inside], 8, epochs=3)
    np.testing.assert_array_equal(recorder.deltas(), inside.deltas())


@pytest.mark.backend_agnostic
def test_rate_driven_on_every_backend():
    schedule = Triangular2(0.01, 0.05, 2)
    callback, recorder = ScheduleCallback(schedule), KernelRecorder()
    fit(probe_model(keras.optimizers.SGD(0.0)), [callback, recorder], 6)
    np.testing.assert_allclose(-recorder.deltas(), schedule_rates(schedule, range(6)), rtol=1e-4)
    if keras.backend.backend() == "jax":
        with pytest.raises(ValueError, match="JAX backend freezes `momentum`"):
            fit(probe_model(keras.optimizers.SGD(0.0, momentum=0.9)),
                [CyclicLR(0.01, 0.05, 2, cycle_momentum=True)], 2)


def test_twins_build_the_same_schedules():
    twin = CyclicLR(0.001, 0.006, 4, mode="exp_range", gamma=0.9, shape="welch", step_size_down=2)
    same = CyclicalLearningRate(0.001, 0.006, 4, "exp_range", 0.9, shape="welch", step_size_down=2)
    assert twin.schedule.get_config() == same.get_config()
    fit(probe_model(keras.optimizers.SGD(0.0)), [twin], 12)
    np.testing.assert_allclose(twin.history["learning_rate"], schedule_rates(same, range(12)))
    cosine = CosineAnnealing(0.1, 12, alpha=0.1, warmup_steps=2, restart_steps=5)
    assert cosine.schedule.get_config() == Cosine(0.1, 12, 0.1, 2, restart_steps=5).get_config()


def test_rate_written_into_logs_history_and_csv(tmp_path):
    schedule = Triangular2(0.01, 0.05, 2)
    path = tmp_path / "log.csv"
    batch_logs = []
    spy = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batch_logs.append(logs["learning_rate"])
    )
    callbacks = [ScheduleCallback(schedule), spy, keras.callbacks.CSVLogger(str(path))]
    history = fit(probe_model(keras.optimizers.SGD(0.0)), callbacks, 3, epochs=3)
    per_batch = schedule_rates(schedule, range(9))
    np.testing.assert_allclose(batch_logs, per_batch, rtol=1e-6)
    np.testing.assert_allclose(history.history["learning_rate"], per_batch[2::3], rtol=1e-6)
    with open(path) as handle:
        logged = [float(row["learning_rate"]) for row in csv.DictReader(handle)]
    np.testing.assert_allclose(logged, per_batch[2::3], rtol=1e-6)


def sgd_momentum_trajectory(rates, momenta, gradient=1.0):
    velocity, weight, weights = 0.0, 0.0, []
    for rate, momentum in zip(rates, momenta, strict=True):
        velocity = momentum * velocity - rate * gradient
        weight += velocity
        weights.append(weight)
    return np.asarray(weights)


def test_cycled_sgd_momentum_is_used_under_jit():
    callback = CyclicLR(0.01, 0.05, 3, cycle_momentum=True, base_momentum=0.5, max_momentum=0.9)
    recorder = KernelRecorder()
    model = probe_model(keras.optimizers.SGD(0.0, momentum=0.9), jit_compile=True)
    history = fit(model, [callback, recorder], 12)
    momenta = callback.history["momentum"]
    rates = callback.history["learning_rate"]
    np.testing.assert_allclose(momenta[:7], [0.9, 0.7666667, 0.6333333, 0.5, 0.6333333,
                                             0.7666667, 0.9], rtol=1e-6)
    weights = np.asarray(recorder.after)
    np.testing.assert_allclose(weights, sgd_momentum_trajectory(rates, momenta), rtol=1e-5)
    frozen = sgd_momentum_trajectory(rates, [0.9] * 12)
    assert np.abs(weights - frozen).max() > 0.05  # a captured float would have given this
    assert history.history["momentum"] == [pytest.approx(momenta[-1])]
    optimizer = model.optimizer
    assert optimizer.momentum == 0.9 and isinstance(optimizer.momentum, float)


def test_cycled_momentum_with_loss_scaling_and_mirrored_strategy():
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = probe_model(keras.optimizers.SGD(0.0, momentum=0.9))
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    callback, recorder = CyclicLR(0.01, 0.05, 2, cycle_momentum=True), KernelRecorder()
    fit(model, [callback, recorder], 6)
    want = sgd_momentum_trajectory(callback.history["learning_rate"], callback.history["momentum"])
    np.testing.assert_allclose(recorder.after, want, rtol=1e-5)
    keras.mixed_precision.set_global_policy("float32")


    strategy = mirrored_strategy()
    with strategy.scope():  # Keras disables XLA under tf.distribute
        model = probe_model(keras.optimizers.SGD(0.0, momentum=0.9), jit_compile=False)
    callback, recorder = CyclicLR(0.01, 0.05, 2, cycle_momentum=True), KernelRecorder()
    x, y = probe_data(6)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[callback, recorder])
    rates, momenta = callback.history["learning_rate"], callback.history["momentum"]
    gradient = -recorder.after[0] / rates[0]  # the replicas' summed gradient
    np.testing.assert_allclose(recorder.after, sgd_momentum_trajectory(rates, momenta, gradient),
                               rtol=1e-5)
    assert np.abs(np.asarray(recorder.after) - sgd_momentum_trajectory(
        rates, [0.9] * len(rates), gradient)).max() > 1e-3


ADAM_FAMILY = [
    pytest.param(lambda: keras.optimizers.Adam(0.01), id="Adam"),
    pytest.param(lambda: keras.optimizers.AdamW(0.01, weight_decay=0.01), id="AdamW"),
    *(pytest.param(lambda cls=cls: cls(0.01), id=cls.__name__) for cls in OPTIMIZER_CLASSES),
]


@pytest.mark.parametrize("make_optimizer", ADAM_FAMILY)
def test_cycled_beta_1_reaches_the_first_moment_under_jit(make_optimizer):
    optimizer = make_optimizer()
    schedule = OneCycle(0.01, 10)
    callback = ScheduleCallback(schedule, cycle_momentum=True, base_momentum=0.5,
                                max_momentum=0.95)
    first_moments = []
    reader = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: first_moments.append(
            float(keras.ops.convert_to_numpy(optimizer.variables[2])[0, 0])
        )
    )
    fit(probe_model(optimizer, jit_compile=True), [callback, reader], 10)
    betas = callback.history["beta_1"]
    assert min(betas) == pytest.approx(0.5) and betas[0] == pytest.approx(0.95)
    m, want = 0.0, []
    for beta in betas:  # gradient is 1: m_t = beta_t m + (1 - beta_t)
        m = beta * m + (1.0 - beta)
        want.append(m)
    np.testing.assert_allclose(first_moments, want, rtol=1e-5)


def test_optimizer_state_and_config_are_untouched(tmp_path):
    optimizer = keras.optimizers.SGD(0.0, momentum=0.9)
    model = probe_model(optimizer)
    saved_config = {}
    saver = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: (
            saved_config.update(optimizer.get_config()), model.save(tmp_path / "mid.keras")
        )
    )
    callback = CyclicLR(0.01, 0.05, 2, cycle_momentum=True, base_momentum=0.8, max_momentum=0.9)
    fit(model, [callback, saver], 3)
    plain = keras.optimizers.SGD(0.0, momentum=0.9)
    fit(probe_model(plain), [], 3)
    def names(opt):
        return [(v.name.split("_")[-1], tuple(v.shape), v.dtype) for v in opt.variables]

    assert names(optimizer) == names(plain)
    assert isinstance(saved_config["momentum"], float)
    assert saved_config["momentum"] == pytest.approx(callback.history["momentum"][-1])
    reloaded = keras.models.load_model(tmp_path / "mid.keras")
    assert reloaded.optimizer.momentum == pytest.approx(callback.history["momentum"][-1])
    # A second fit continues the cycle with the same callback.
    fit(model, [callback], 3)
    np.testing.assert_array_equal(callback.history["iterations"], range(6))
    want = schedule_rates(callback.momentum_schedule, range(6))
    np.testing.assert_allclose(callback.history["momentum"], want)


def run_epochs(tmp_path, epochs, stop_after=None):
    model = probe_model(keras.optimizers.SGD(0.0, momentum=0.9))
    callback = CyclicLR(0.01, 0.05, 5, mode="triangular2", cycle_momentum=True)
    callbacks = [callback, keras.callbacks.BackupAndRestore(str(tmp_path))]
    if stop_after is not None:
        def stop(epoch, logs):
            if epoch == stop_after:
                raise RuntimeError("interrupted")

        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_begin=stop))
    try:
        fit(model, callbacks, 4, epochs=epochs)
    except RuntimeError:
        pass
    return callback.history, model


def test_backup_and_restore_resumes_the_cycle(tmp_path):
    first, _ = run_epochs(tmp_path / "a", 6, stop_after=3)
    second, resumed = run_epochs(tmp_path / "a", 6)
    straight, uninterrupted = run_epochs(tmp_path / "b", 6)
    assert first["iterations"] == list(range(12))
    assert second["iterations"] == list(range(12, 24))
    for key in ("learning_rate", "momentum"):
        np.testing.assert_array_equal(first[key] + second[key], straight[key])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(resumed.layers[0].kernel),
        keras.ops.convert_to_numpy(uninterrupted.layers[0].kernel),
        rtol=1e-6,
    )


def test_gradient_accumulation_counts_updates():
    schedule = Triangular2(0.01, 0.05, 2)
    callback, recorder = ScheduleCallback(schedule), KernelRecorder()
    optimizer = keras.optimizers.SGD(0.0, gradient_accumulation_steps=2)
    fit(probe_model(optimizer), [callback, recorder], 12)
    np.testing.assert_array_equal(callback.history["iterations"], np.arange(12) // 2)
    deltas = -recorder.deltas()
    np.testing.assert_allclose(deltas[0::2], 0.0, atol=1e-9)  # micro-batches accumulate only
    np.testing.assert_allclose(deltas[1::2], schedule_rates(schedule, range(6)), rtol=1e-4)


def test_errors_are_clear():
    with pytest.raises(ValueError, match="float learning rate"):
        fit(probe_model(keras.optimizers.SGD(Triangular2(0.1, 0.5, 2))), [CyclicLR(0.1, 0.5, 2)], 2)
    with pytest.raises(ValueError, match="momentum=0"):
        fit(probe_model(keras.optimizers.SGD(0.1)), [CyclicLR(0.1, 0.5, 2, cycle_momentum=True)],
            2)
    with pytest.raises(ValueError, match="neither"):
        fit(probe_model(keras.optimizers.Adagrad(0.1)),
            [CyclicLR(0.1, 0.5, 2, cycle_momentum=True)], 2)
    decay = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    with pytest.raises(ValueError, match="momentum_schedule"):
        ScheduleCallback(decay, cycle_momentum=True)
    with pytest.raises(ValueError, match="max_momentum"):
        CyclicLR(0.1, 0.5, 2, cycle_momentum=True, base_momentum=0.9, max_momentum=0.8)
    with pytest.raises(ValueError, match="schedule"):
        ScheduleCallback(0.1)
    with pytest.raises(ValueError, match="step_size"):
        CyclicLR(0.1, 0.5, 0)
